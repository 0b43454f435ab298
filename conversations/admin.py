"""Admin for conversations. Its actions call conversations.actions, as the REST views do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from conversations import actions
from conversations.models import Conversation, Message, Participant
from gleepost.exceptions import DomainError


class ReadOnlyParticipants:
    """Who is in a conversation changes through the actions alone (joining, leaving), which
    announce it: a row added, changed or deleted here would go unannounced, and a user removed
    so would go on hearing the conversation's typing for as long as the others' connections
    trust what they read of it (realtime.consumer.client_frames, the setting
    PARTICIPATION_CACHE_SECS)."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ParticipantInline(ReadOnlyParticipants, admin.TabularInline[Participant, Conversation]):
    model = Participant
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("last_read", "joined_at", "left_at")
    can_delete = False


class LiveFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("live", "Live"), ("regular", "Regular")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Conversation]
    ) -> QuerySet[Conversation]:
        if self.value() == "live":
            return queryset.filter(expiry_time__isnull=False)
        if self.value() == "regular":
            return queryset.filter(expiry_time__isnull=True)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("id", "created_at", "last_activity", "expiry_time", "ended", "group")
    list_filter = (LiveFilter, "ended", "last_activity")
    search_fields = ("=id", "participants__user__username")
    # A conversation's network is chosen when it is created (its participants must be members).
    readonly_fields = ("created_at", "last_activity", "expiry_time", "ended", "group")
    inlines = [ParticipantInline]
    actions = ["end_conversations", "make_regular"]

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Conversation],
        action: object,
        verb: str,
    ) -> None:
        done, refused = 0, []
        for conversation in queryset:
            try:
                result = action(conversation)  # type: ignore[operator]
            except DomainError as error:
                refused.append(f"{conversation.pk}: {error.reason}")
                continue
            done += result is not False
        self.message_user(request, f"{verb} {done} conversation(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="End conversation")
    def end_conversations(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        self._apply(request, queryset, actions.do_end_conversation, "Ended")

    @admin.action(description="Make regular (remove expiry)")
    def make_regular(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        self._apply(request, queryset, actions.do_make_regular, "Made regular")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ("id", "conversation", "by", "timestamp", "short_text")
    list_filter = ("timestamp",)
    search_fields = ("text", "by__username", "=conversation__id")
    raw_id_fields = ("conversation", "by")
    readonly_fields = ("conversation", "by", "timestamp")
    list_select_related = ("by",)

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return message.text if len(message.text) <= 80 else message.text[:79] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Messages are sent by users through the API, which announces them.
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyParticipants, admin.ModelAdmin[Participant]):
    list_display = ("id", "conversation", "user", "last_read", "joined_at", "left_at")
    list_filter = ("left_at",)
    search_fields = ("user__username", "=conversation__id")
    raw_id_fields = ("conversation", "user")
    readonly_fields = ("last_read", "joined_at", "left_at")
