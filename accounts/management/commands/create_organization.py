import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import create_organization


class Command(BaseCommand):
    help = "Create an organization with its first owner (the user is created if needed)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="email of the first owner")

    def handle(self, *args, name, owner, **options):
        try:
            validate_email(owner)
        except ValidationError as exc:
            raise CommandError(f"--owner: {owner!r} is not an email address") from exc
        User = get_user_model()
        user = User.objects.filter(email__iexact=owner).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=owner.lower(), email=owner, password=password)
        organization = create_organization(name=name, owner=user)
        self.stdout.write(
            self.style.SUCCESS(f"Organization “{organization.name}” ({organization.slug}) created.")
        )
        if password:
            self.stdout.write(f"New login: {user.email} / {password} (change it after logging in)")
        else:
            self.stdout.write(f"{user.email} (existing account) is its owner.")
