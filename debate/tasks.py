"""Background tasks of the debate app: thin wrappers over the services (Celery in production, the
in-process runner in embedded mode; config/background.py chooses)."""

from celery import shared_task

from debate import notifications


@shared_task(name="debate.notifications_email")
def notifications_email() -> int:
    """Email the notifications left open longer than NOTIFY_EMAIL_AFTER_S (beat: every minute)."""
    return notifications.notifications_email_run()


@shared_task(name="debate.slack_post")
def slack_post(delivery_id: int) -> str:
    """Post one notification to one Slack webhook, then any other posts that are due."""
    from debate import slack

    status = slack.delivery_post(delivery_id)
    slack.deliveries_due()
    return status


@shared_task(name="debate.slack_sweep")
def slack_sweep() -> int:
    """Post the Slack deliveries whose retry is due (beat: every minute)."""
    from debate import slack

    return slack.deliveries_due()
