"""Template context every page gets: the domain's words (``{{ vocab.CSM }}``, ``{{ vocab.ROLE_LABELS }}``)."""

from metrics import vocabulary


def vocab(request):
    return {"vocab": vocabulary}
