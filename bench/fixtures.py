"""Bench fixtures, written in bulk: `python -m bench.fixtures N` prints the sessions and the API token as JSON."""

import json
import sys
import time

import django

django.setup()

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402

from callbacks import roles  # noqa: E402
from callbacks.enums import Channel  # noqa: E402
from callbacks.models import Agent, AgentChannelStatus, ApiClient, Queue  # noqa: E402
from callbacks.push import SKEW, agent_group, record_changes  # noqa: E402


def main(n: int) -> None:
    User = get_user_model()
    queue = Queue.objects.create(name="Bench", slug="bench", offer_timeout_seconds=60)
    password = make_password("bench-password")  # hashed once, shared: 500 hashes would take minutes
    users = User.objects.bulk_create([User(username=f"bench{i:04d}", password=password) for i in range(n)])
    agents = Agent.objects.bulk_create([Agent(user=u, display_name=f"Bench {i}") for i, u in enumerate(users)])
    now = timezone.now()  # voice only: each agent's Web Callback row says they do not work it
    AgentChannelStatus.objects.bulk_create(
        [AgentChannelStatus(agent=a, channel=Channel.WEB_CALLBACK, enabled=False, since=now) for a in agents]
    )
    Agent.queues.through.objects.bulk_create([Agent.queues.through(agent_id=a.pk, queue_id=queue.pk) for a in agents])
    # bulk_create sends no post_save: the Agent role is given here, as the Agent profile's signal would.
    roles.ensure_roles()
    agent_role = Group.objects.get(name=roles.AGENT)
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=agent_role.pk) for u in users])
    sessions = []
    for user, agent in zip(users, agents, strict=True):
        session = SessionStore()  # what django.contrib.auth.login stores
        session[SESSION_KEY] = str(user.pk)
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session["_auth_user_backend"] = "callbacks.auth.AgentBackend"
        session.create()
        sessions.append((agent.pk, session.session_key))
    client = ApiClient(name="Bench", requests_per_minute=0)  # unthrottled: the bench measures Ringback, not its throttle
    token = client.issue_token()
    client.save()
    # The agents' pages show what the last change for them (recorded now) did: they were rendered after
    # it. Scaled mode keeps this in Redis, as a running system would; the embedded default's cache lives
    # in the server process, which starts empty (a restarted process renders every page it reconnects).
    record_changes(agent_group(agent_id) for agent_id, _ in sessions)
    print(json.dumps({"sessions": sessions, "token": token, "rendered_at": time.time() + SKEW + 0.5}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
