from django_filters import rest_framework as filters

from assistants.models import Assistant, File, Message, Run, Thread


class AssistantFilter(filters.FilterSet):
    class Meta:
        model = Assistant
        fields = ["organization", "is_active", "model"]


class ThreadFilter(filters.FilterSet):
    class Meta:
        model = Thread
        fields = ["assistant", "organization", "owner"]


class MessageFilter(filters.FilterSet):
    class Meta:
        model = Message
        fields = ["role", "run"]


class RunFilter(filters.FilterSet):
    class Meta:
        model = Run
        fields = ["status"]


class FileFilter(filters.FilterSet):
    content_type = filters.CharFilter()

    class Meta:
        model = File
        fields = ["organization", "content_type", "uploaded_by"]
