"""The "Bazar staff" group: the permissions ADMIN staff get in the admin (through their role, see accounts.backends).

Frozen here on purpose: a later change of the staff permission set comes with a new migration.
"""

from django.db import migrations

GROUP_NAME = "Bazar staff"

# app label -> model -> actions. Not granted: deleting users, changing roles (the admin keeps `role` read-only for
# ADMIN), groups and permissions, token blacklists, task results.
STAFF_PERMISSIONS = {
    "accounts": {"user": ["view", "change"]},
    "organizations": {
        "organization": ["view", "change"],
        "membership": ["view", "add", "change", "delete"],
        "invitation": ["view", "change"],
    },
    "assistants": {
        "assistant": ["view", "add", "change", "delete"],
        "thread": ["view", "change"],
        "message": ["view"],
        "run": ["view", "change"],
        "file": ["view", "change"],
    },
}


def _ensure_permissions(apps, using):
    """Permissions are normally created after all migrations ran; this migration needs them now."""
    from django.contrib.auth.management import create_permissions

    for label in STAFF_PERMISSIONS:
        app_config = apps.get_app_config(label)
        # Historical app configs have no models module, which create_permissions() requires.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
        app_config.models_module = models_module


def create_staff_group(apps, schema_editor):
    using = schema_editor.connection.alias
    _ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    permissions = [
        Permission.objects.using(using).get(content_type__app_label=label, codename=f"{action}_{model}")
        for label, models in STAFF_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    group.permissions.set(permissions)


def delete_staff_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("organizations", "0001_initial"),
        ("assistants", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_staff_group, delete_staff_group)]
