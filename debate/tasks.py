"""Background tasks of the debate app: thin wrappers over the services (Celery in production, the
in-process runner in embedded mode; config/background.py chooses)."""

from celery import shared_task

from debate import notifications


@shared_task(name="debate.notifications_email")
def notifications_email() -> int:
    """Email the notifications left open longer than NOTIFY_EMAIL_AFTER_S (beat: every minute)."""
    return notifications.notifications_email_run()
