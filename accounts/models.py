"""People and teams: email-login users with a role, teams with a function, dated memberships."""

from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from metrics import vocabulary


class Role(models.TextChoices):
    ADMIN = vocabulary.ADMIN, vocabulary.USER_ROLES[vocabulary.ADMIN]
    EXECUTIVE = vocabulary.EXECUTIVE, vocabulary.USER_ROLES[vocabulary.EXECUTIVE]
    LEAD = vocabulary.LEAD, vocabulary.USER_ROLES[vocabulary.LEAD]
    MEMBER = vocabulary.MEMBER, vocabulary.USER_ROLES[vocabulary.MEMBER]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        # No password means an account owner who never logs in (created by import).
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def display_name(self):
        return self.full_name or self.email


class TeamFunction(models.TextChoices):
    CUSTOMER_SUCCESS = "customer_success", "Customer success"
    ACCOUNT_MANAGEMENT = "account_management", "Account management"
    SALES = "sales", "Sales"
    SUPPORT = "support", "Support"
    OTHER = "other", "Other"


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    function = models.CharField(max_length=32, choices=TeamFunction.choices)
    lead = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    """A user belongs to one team on any given day; end_date is inclusive, empty = open."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["user", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="membership_end_not_before_start",
            ),
            models.UniqueConstraint(fields=["user", "start_date"], name="membership_unique_start"),
        ]
        # PostgreSQL also gets an exclusion constraint against overlaps (migration 0002).

    def __str__(self):
        return f"{self.user} in {self.team} from {self.start_date}"

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})
        if self.user_id and self.start_date:
            overlapping = overlapping_spans(
                TeamMembership.objects.filter(user_id=self.user_id).exclude(pk=self.pk),
                self.start_date,
                self.end_date,
            )
            if overlapping.exists():
                raise ValidationError(
                    "This membership overlaps another membership of the same user: "
                    "a user belongs to one team on any given day."
                )


def overlapping_spans(queryset, start_date, end_date):
    """Rows of ``queryset`` (with start_date/end_date, end inclusive, null = open) overlapping a span."""
    queryset = queryset.filter(Q(end_date__isnull=True) | Q(end_date__gte=start_date))
    if end_date is not None:
        queryset = queryset.filter(start_date__lte=end_date)
    return queryset
