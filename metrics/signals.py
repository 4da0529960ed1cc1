"""Every committed change of contracts, assignments, customers or memberships queues a recompute
of just the customers it touches (a membership: the member's customers); renaming a team or an
owner's email, or changing an exchange rate, queues a full one (the snapshots carry those names;
every figure converts with the rates)."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import Team, TeamMembership, User

from .models import Assignment, ContractLine, Customer, FxRate
from .tasks import request_recompute


@receiver([post_save, post_delete], sender=ContractLine)
@receiver([post_save, post_delete], sender=Assignment)
def customer_row_changed(sender, instance, **kwargs):
    request_recompute([instance.customer_id])


@receiver(post_save, sender=Customer)
def customer_changed(sender, instance, **kwargs):
    request_recompute([instance.pk])


@receiver(post_delete, sender=Customer)
def customer_deleted(sender, instance, **kwargs):
    request_recompute([instance.pk])  # its old contribution comes out of the frozen inputs


@receiver([post_save, post_delete], sender=TeamMembership)
def membership_changed(sender, instance, **kwargs):
    customers = Assignment.objects.filter(user_id=instance.user_id).values_list("customer_id", flat=True)
    request_recompute(set(customers))


@receiver([post_save, post_delete], sender=FxRate)
def rate_changed(sender, instance, **kwargs):
    request_recompute(None)  # every figure converts with the rates: a full recompute


@receiver([post_save, post_delete], sender=Team)
def team_changed(sender, instance, created=False, **kwargs):
    if not created:
        request_recompute(None)


@receiver(pre_save, sender=User)
def remember_email(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "email" not in update_fields:  # e.g. last_login on sign-in
        instance._email_before = None
        return
    instance._email_before = (
        User.objects.filter(pk=instance.pk).values_list("email", flat=True).first() if instance.pk else None
    )


@receiver(post_save, sender=User)
def owner_renamed(sender, instance, created, **kwargs):
    if not created and getattr(instance, "_email_before", None) not in (None, instance.email):
        request_recompute(None)
