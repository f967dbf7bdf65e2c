"""The plugin's error, importable without boto3 (the image has no AWS SDK)."""


class SageMakerError(RuntimeError):
    """A job, endpoint or call that cannot go on; the message is one line for the user."""
