"""Networks (groups of users), their posts, and what users do to posts: view, comment, like."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Network(models.Model):
    name = models.CharField(max_length=200)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_networks"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "user"], name="posts_membership_unique")
        ]
        # "Which networks is this user in?" (post visibility) starts from the user.
        indexes = [models.Index(fields=["user", "network"], name="posts_member_user_net")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.network_id}"


class PostQuerySet(models.QuerySet["Post"]):
    def visible_to(self, user_id: int) -> PostQuerySet:
        """Posts that are not deleted, in networks ``user_id`` is a member of."""
        return self.filter(
            deleted=False,
            network__in=Membership.objects.filter(user_id=user_id).values("network_id"),
        )


class Post(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="posts")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    text = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)
    # Kept in step with PostView rows by do_record_views, so reading a count costs no COUNT(*).
    views_count = models.PositiveBigIntegerField(default=0)

    objects = PostQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["network", "-id"], name="posts_post_network_recent")]

    def __str__(self) -> str:
        return f"post {self.pk} in {self.network_id}"


class PostView(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="view_records")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    time = models.DateTimeField(help_text="When the client says the post was seen.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["post", "time"], name="posts_view_post_time")]

    def __str__(self) -> str:
        return f"view of {self.post_id} by {self.user_id}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["post", "id"], name="posts_comment_post")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.post_id}"


class Like(models.Model):
    """One row per (post, user), kept when unliked so a liker is notified about only once."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    liked = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="posts_like_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {'likes' if self.liked else 'unliked'} {self.post_id}"
