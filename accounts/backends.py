from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Email login (case-insensitive); blocked and deactivated accounts cannot authenticate."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_blocked", False)
