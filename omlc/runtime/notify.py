"""Sending notifications: the part of the runtime that Prefect and Dagster code carries
(Airflow code uses the official provider notifiers instead).

Like :mod:`omlc.runtime.window`, generated code copies these functions verbatim
(:mod:`omlc.runtime.embed`): standard library only, no ``from __future__``, every name
prefixed ``omlc_``. Where to send comes from environment variables whose *names* the
project file gives (``settings``: ``{"email": {"host_env": "OMLC_SMTP_HOST", ...}, ...}``);
no address of a server and no secret is ever in the code.
"""


def omlc_notice_text(event, facts):
    """The subject and body of a notification. ``facts``: pipeline, run_id, fire_time,
    window_start, window_end, error (a failure's message), sla (an SLA in seconds)."""
    what = {"on_failure": "failed", "on_success": "succeeded",
            "on_sla_breach": "missed its SLA"}.get(event, event)
    subject = "[omlc] pipeline %s %s" % (facts.get("pipeline", "?"), what)
    lines = [subject]
    for key in ("run_id", "fire_time", "window_start", "window_end", "sla", "error"):
        if facts.get(key) not in (None, ""):
            lines.append("%s: %s" % (key, facts[key]))
    return subject, "\n".join(lines) + "\n"


def omlc_env_name(settings, key, target=None):
    """The environment variable that ``settings[key]`` names, its ``{service}`` or
    ``{channel}`` filled with ``target`` (upper-cased, ``#`` dropped, ``_`` for anything
    not alphanumeric: omlc.metadata.filled_setting)."""
    import re

    name = settings.get(key) or ""
    if target is not None:
        value = re.sub(r"[^A-Za-z0-9]", "_", target.lstrip("#")).upper()
        name = name.replace("{service}", value).replace("{channel}", value)
    return name


def omlc_env_setting(settings, key, target=None):
    """The value of the environment variable that ``settings[key]`` names (None if unset)."""
    import os

    name = omlc_env_name(settings, key, target)
    return (os.environ.get(name) or None) if name else None


def omlc_send_email(settings, to, subject, body):
    """Send a plain-text email through the SMTP server at host[:port] from the environment
    (login when a user is set; STARTTLS when the server offers it)."""
    import smtplib
    import socket
    from email.message import EmailMessage

    host = omlc_env_setting(settings, "host_env")
    if host is None:
        raise RuntimeError("no SMTP server: set the variable %s" % settings.get("host_env"))
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    message = EmailMessage()
    message["From"] = omlc_env_setting(settings, "sender_env") or "omlc@" + socket.getfqdn()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(name or host, int(port) if port else 25, timeout=30) as smtp:
        smtp.ehlo()
        user = omlc_env_setting(settings, "user_env")
        if smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if user:
            smtp.login(user, omlc_env_setting(settings, "password_env") or "")
        smtp.send_message(message)


def omlc_post_json(url, payload):
    """POST ``payload`` as JSON; raises on anything but a 2xx answer."""
    import json
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if not 200 <= response.status < 300:
            raise RuntimeError("%s answered %s" % (url, response.status))


def omlc_send_slack(settings, channel, text):
    """Post to the Slack incoming webhook from the environment, to ``channel``."""
    url = omlc_env_setting(settings, "webhook_env", channel)
    if url is None:
        raise RuntimeError("no Slack webhook: set the variable %s" % omlc_env_name(settings, "webhook_env", channel))
    omlc_post_json(url, {"channel": channel, "text": text})


def omlc_send_pagerduty(settings, service, summary, severity, facts):
    """Trigger a PagerDuty Events API v2 alert for ``service`` (its routing key from the
    environment), deduplicated per pipeline run and event."""
    key = omlc_env_setting(settings, "routing_key_env", service)
    if key is None:
        raise RuntimeError("no PagerDuty routing key: set the variable %s"
                           % omlc_env_name(settings, "routing_key_env", service))
    url = omlc_env_setting(settings, "url_env") or "https://events.pagerduty.com/v2/enqueue"
    omlc_post_json(url, {
        "routing_key": key, "event_action": "trigger",
        "dedup_key": "omlc/%s/%s/%s" % (facts.get("pipeline"), facts.get("run_id"), facts.get("event")),
        "payload": {"summary": summary[:1024], "source": "omlc/%s" % facts.get("pipeline"), "severity": severity,
                    "component": service, "group": facts.get("pipeline"),
                    "custom_details": dict((k, str(v)) for k, v in facts.items() if v is not None)},
    })


def omlc_notify(event, targets, settings, facts, severity="error"):
    """Tell every ``(channel, target)`` of ``targets`` about ``event``. Each is tried; the
    ones that fail are returned as messages (a notification must not hide the run's own
    outcome, so this never raises)."""
    facts = dict(facts, event=event)
    subject, body = omlc_notice_text(event, facts)
    failed = []
    for channel, target in targets:
        try:
            if channel == "email":
                omlc_send_email(settings.get("email", {}), target, subject, body)
            elif channel == "slack":
                omlc_send_slack(settings.get("slack", {}), target, body)
            elif channel == "pagerduty":
                omlc_send_pagerduty(settings.get("pagerduty", {}), target, subject, severity, facts)
            else:
                raise RuntimeError("unknown channel %r" % channel)
        except Exception as exc:  # one channel down must not stop the others
            failed.append("%s %s: %s" % (channel, target, exc))
    return failed


def omlc_sla_watchdog(deadline, send):
    """Call ``send()`` at ``deadline`` (an aware datetime; at once if it has passed) from a
    daemon timer, unless the returned timer is cancelled first (the run ended in time)."""
    import datetime
    import threading

    delay = (deadline - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    timer = threading.Timer(max(delay, 0.0), send)
    timer.daemon = True
    timer.start()
    return timer
