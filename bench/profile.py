"""Summarise a py-spy ``-f raw`` profile: the functions with the most samples, self and total.

.venv/bin/python bench/profile.py PROFILE.txt [--top 25]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in Path(args.profile).read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue  # a stack py-spy split over lines (a frame's text held a newline)
        count = int(count_text)
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].split(":")[0] for f in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    print(f"{samples} samples")
    for title, counter in (("self", own), ("total (inclusive)", total)):
        print(f"\n{title}:")
        for frame, count in counter.most_common(args.top):
            print(f"  {100 * count / samples:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
