from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower

from accounts.caching import users_changed
from accounts.hashers import refusing_when_busy
from accounts.roles import Plan, Role, is_staff_role
from bazar.ids import uuid7


class UserQuerySet(models.QuerySet):
    """Bulk writes skip the model's signals: they drop the affected users' cached copies here instead."""

    def update(self, **kwargs) -> int:
        user_ids = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        users_changed(user_ids, using=self.db)
        return count

    def bulk_update(self, objs, *args, **kwargs) -> int:
        objs = list(objs)
        count = super().bulk_update(objs, *args, **kwargs)
        users_changed([obj.pk for obj in objs], using=self.db)
        return count

    def bulk_create(self, objs, *args, **kwargs) -> list:
        created = super().bulk_create(objs, *args, **kwargs)
        users_changed([obj.pk for obj in created if obj.pk is not None], using=self.db)  # update_conflicts=True
        return created


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", Role.SUPERADMIN)
        fields.setdefault("is_verified", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> "User":
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """An account. `role` is the one source of truth for staff and superuser status."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER, db_index=True)
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.FREE, db_index=True)
    is_verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    is_blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=255, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="False once the account is deleted (deactivated).")
    # Bumped on password change/reset and deletion; tokens carrying an older value are refused.
    token_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Derived from `role`, so they can never disagree with it.
    is_superuser = property(lambda self: self.role == Role.SUPERADMIN)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        db_table = "users"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="users_role_valid"),
            models.CheckConstraint(condition=models.Q(plan__in=Plan.values), name="users_plan_valid"),
        ]
        indexes = [models.Index(fields=["created_at"], name="users_created_at_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:
        return is_staff_role(self.role)

    def check_password(self, raw_password) -> bool:
        """Django's check, except that the re-hash of a right password with outdated parameters waits for a
        hashing slot (accounts/hashers.py): refusing it would fail a sign-in whose password was already checked."""

        def rehash(raw_password):
            with refusing_when_busy(refuse=False):
                self.set_password(raw_password)
            self._password = None
            self.save(update_fields=["password"])

        return check_password(raw_password, self.password, rehash)
