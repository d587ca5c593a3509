"""A seeded Slack workspace: users, conversations, their members and messages, and files.

Deterministic for ``(records, seed, now)``. ``records`` sizes every list: that many users,
files and messages in #general; about a tenth as many conversations (public and private
channels, group DMs and DMs), whose other channels hold fewer messages. Messages are built
per channel on first use. The app's bot user is a member of most channels, not all, so
``not_in_channel`` and ``channel_not_found`` happen as they do at Slack.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from .._fixtures import Dice, created_series, mix64, salt

__all__ = ["Channel", "SlackWorld", "ts_key"]

_DAY = 86_400
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
          "Edsger", "Radia", "Donald", "Hedy", "Tim", "Katherine", "John", "Sophie", "Guido",
          "Anita", "Bjarne", "Joan", "Niklaus", "Shafi", "Leslie", "Mary", "Yukihiro"]
_LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov",
         "Ritchie", "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "Berners-Lee", "Johnson",
         "McCarthy", "Wilson", "van Rossum", "Borg", "Stroustrup", "Clarke", "Wirth",
         "Goldwasser", "Lamport", "Jackson", "Matsumoto"]
_TITLES = ["Data Analyst", "Engineer", "Product Manager", "Designer", "Support Lead",
           "Account Executive", "Finance", "", "People Ops", "Head of Growth"]
_TZS = [("America/Los_Angeles", "Pacific Standard Time", -28800),
        ("America/New_York", "Eastern Standard Time", -18000),
        ("Europe/London", "Greenwich Mean Time", 0),
        ("Europe/Berlin", "Central European Time", 3600),
        ("Asia/Tokyo", "Japan Standard Time", 32400)]
_CHANNEL_WORDS = ["analytics", "data-eng", "marketing", "sales", "support", "eng", "design",
                  "finance", "ops", "growth", "product", "incidents", "releases", "hiring",
                  "random-fun", "standup", "metrics", "customers", "security", "docs"]
_TEXTS = ["Morning! Dashboards are refreshed.", "Can someone review the Q{n} numbers?",
          "Deploy #{n} went out :rocket:", "Churn is down {n}% week over week",
          "Who owns the {w} pipeline?", "Reminder: standup in 5", "Thanks <@{u}>!",
          "Ticket {n} is resolved", "Lunch? :taco:", "Shipping the {w} report today",
          "Retro notes are in the doc", "New signup record: {n}", "FYI the {w} job failed at 3am",
          "Looks good to me :white_check_mark:", "Pushed a fix for #{n}"]
_REACTIONS = ["thumbsup", "tada", "eyes", "white_check_mark", "rocket", "heart", "joy"]
_FILE_TYPES = [("png", "image/png", "PNG", "images"), ("pdf", "application/pdf", "PDF", "pdfs"),
               ("csv", "text/csv", "CSV", "snippets"), ("xlsx",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel "
               "Spreadsheet", "spreadsheets"), ("mp4", "video/mp4", "MPEG 4 Video", "videos"),
               ("gdoc", "application/vnd.google-apps.document", "Google Docs", "gdocs"),
               ("zip", "application/zip", "Zip", "zips")]
FILE_TYPE_GROUPS = frozenset(t[3] for t in _FILE_TYPES) | {"spaces", "all"}


def ts_key(ts: str) -> int:
    """A Slack ts (``"1712345678.000100"``) as integer microseconds, for ordering."""
    whole, _, frac = ts.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


def _ids(prefix: str, n: int, seed: int, length: int = 10) -> list[str]:
    """``n`` distinct ids like Slack's: a prefix and upper-case alphanumerics."""
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        x = mix64(seed + i)
        i += 1
        chars = []
        for _ in range(length):
            x, r = divmod(x, 36)
            chars.append(_ALPHABET[r])
            if x == 0:
                x = mix64(seed + i * 7919 + len(chars))
        ident = prefix + "".join(chars)
        if ident not in seen:
            seen.add(ident)
            out.append(ident)
    return out


@dataclass
class Channel:
    """One conversation, its members and (built on first use) its messages, newest first."""

    obj: dict[str, Any]
    members: list[str]
    size: int
    seed: int
    messages: list[dict[str, Any]] | None = None
    keys: list[int] = field(default_factory=list)  # -ts_key of each message (ascending)

    @property
    def id(self) -> str:
        return str(self.obj["id"])

    @property
    def kind(self) -> str:
        o = self.obj
        if o.get("is_im"):
            return "im"
        if o.get("is_mpim"):
            return "mpim"
        return "private_channel" if o.get("is_private") else "public_channel"


class SlackWorld:
    """The seeded workspace an emulator serves."""

    def __init__(self, records: int, seed: int, now: int) -> None:
        self.n = max(3, int(records))
        self.seed = seed
        self.now = now
        d = Dice(salt(seed, "team"))
        self.team_id = _ids("T", 1, salt(seed, "team-id"), 10)[0]
        self.team_name = "Acme Analytics"
        self.domain = "acme-analytics"
        self.app_id = _ids("A", 1, salt(seed, "app-id"), 10)[0]
        self.bot_id = _ids("B", 1, salt(seed, "bot-id"), 10)[0]
        self.url = f"https://{self.domain}.slack.com/"
        user_ids = _ids("U", self.n, salt(seed, "users"), 10)
        self.bot_user_id = user_ids[-1]
        self.users = [self._user(i, uid) for i, uid in enumerate(user_ids)]
        self.user_index = {u["id"]: i for i, u in enumerate(self.users)}
        self.humans = [u["id"] for u in self.users if not u["is_bot"] and not u["deleted"]]
        self.channels = self._channels(d)
        self.channel_index = {c.id: c for c in self.channels}
        self.files = [self._file(i, fid) for i, fid in
                      enumerate(_ids("F", self.n, salt(seed, "files"), 10))]

    # -- users -----------------------------------------------------------------------------
    def _user(self, i: int, uid: str) -> dict[str, Any]:
        d = Dice(salt(self.seed, "user", i))
        bot = uid == self.bot_user_id
        first, last = d.pick(_FIRST), d.pick(_LAST)
        if bot:
            first, last = "Integkit", "Bot"
        handle = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
        if not bot and i >= len(_FIRST):
            handle += str(i)
        real = f"{first} {last}"
        tz, tz_label, tz_offset = d.pick(_TZS)
        deleted = not bot and i > 2 and d.chance(0.05)
        updated = self.now - d.between(_DAY, 700 * _DAY)
        avatar = d.token(12).lower()
        profile: dict[str, Any] = {
            "title": "" if bot else d.pick(_TITLES), "phone": "", "skype": "",
            "real_name": real, "real_name_normalized": real,
            "display_name": "" if bot else handle.split(".")[0],
            "display_name_normalized": "" if bot else handle.split(".")[0],
            "fields": None, "status_text": "", "status_emoji": "", "status_expiration": 0,
            "avatar_hash": avatar, "first_name": first, "last_name": last,
            "image_48": f"https://avatars.slack-edge.com/{avatar}_48.png",
            "image_192": f"https://avatars.slack-edge.com/{avatar}_192.png",
            "team": self.team_id,
        }
        if not bot:
            profile["email"] = f"{handle}@acme-analytics.example"
        else:
            profile.update(bot_id=self.bot_id, api_app_id=self.app_id, always_active=True)
        return {
            "id": uid, "team_id": self.team_id, "name": "integkit_bot" if bot else handle,
            "deleted": deleted, "color": f"{d.below(1 << 24):06x}", "real_name": real,
            "tz": tz, "tz_label": tz_label, "tz_offset": tz_offset, "profile": profile,
            "is_admin": i in (0, 1), "is_owner": i == 0, "is_primary_owner": i == 0,
            "is_restricted": not bot and d.chance(0.04), "is_ultra_restricted": False,
            "is_bot": bot, "is_app_user": False, "updated": updated,
        }

    # -- conversations ---------------------------------------------------------------------------
    def _channels(self, d: Dice) -> list[Channel]:
        count = max(4, self.n // 10)
        ids_c = _ids("C", count, salt(self.seed, "channels"), 10)
        ids_d = _ids("D", count, salt(self.seed, "dms"), 10)
        ids_g = _ids("G", count, salt(self.seed, "mpims"), 10)
        created = created_series(count, salt(self.seed, "channel-created"),
                                 newest=self.now - 30 * _DAY, span=3 * 365 * _DAY)[::-1]
        out: list[Channel] = []
        humans = self.humans
        for i in range(count):
            cd = Dice(salt(self.seed, "channel", i))
            roll = cd.unit()
            if i == 0:
                name, kind = "general", "public_channel"
            elif i == 1:
                name, kind = "random", "public_channel"
            elif roll < 0.6:
                name, kind = f"{cd.pick(_CHANNEL_WORDS)}-{i}", "public_channel"
            elif roll < 0.75:
                name, kind = f"priv-{cd.pick(_CHANNEL_WORDS)}-{i}", "private_channel"
            elif roll < 0.87:
                name, kind = "", "mpim"
            else:
                name, kind = "", "im"
            if i == 0:
                members = [u["id"] for u in self.users if not u["deleted"]]
            elif kind == "im":
                members = [cd.pick(humans), self.bot_user_id]
            else:
                size = cd.between(2, max(2, min(40, len(humans))))
                members = sorted(set(cd.sample(humans, min(size, len(humans)))))
                if kind in ("mpim",) or i == 1 or cd.chance(0.85):
                    members.append(self.bot_user_id)
            member = self.bot_user_id in members
            size = self.n if i == 0 else cd.between(0, max(1, self.n // 5))
            if kind == "public_channel" and not member:
                size = max(size, 1)
            creator = members[0]
            obj = self._conversation(i, kind, name, members, created[i], creator, cd,
                                     ids_c[i], ids_d[i], ids_g[i])
            out.append(Channel(obj, members, size, salt(self.seed, "messages", i)))
        return out

    def _conversation(self, i: int, kind: str, name: str, members: list[str], created: int,
                      creator: str, d: Dice, cid: str, did: str, gid: str) -> dict[str, Any]:
        if kind == "im":
            return {"id": did, "created": created, "is_im": True, "is_org_shared": False,
                    "user": members[0], "is_user_deleted": False, "priority": 0,
                    "is_archived": False, "is_open": True}
        if kind == "mpim":
            handles = [self.users[self.user_index[m]]["name"] for m in members[:3]]
            name = "mpdm-" + "--".join(handles) + "-1"
        archived = kind != "mpim" and i > 1 and d.chance(0.08)
        purpose = d.pick(["", "Numbers, dashboards and questions",
                          "Company-wide announcements", "Where work happens"])
        topic = d.pick(["", "Weekly metrics review on Mondays", "Be kind"])
        obj: dict[str, Any] = {
            "id": gid if kind == "mpim" else cid, "name": name,
            "is_channel": kind == "public_channel", "is_group": False,
            "is_im": False, "is_mpim": kind == "mpim", "is_private": kind != "public_channel",
            "created": created, "is_archived": archived, "is_general": i == 0,
            "unlinked": 0, "name_normalized": name, "is_shared": False,
            "is_org_shared": False, "is_pending_ext_shared": False, "pending_shared": [],
            "parent_conversation": None, "creator": creator, "is_ext_shared": False,
            "shared_team_ids": [self.team_id], "pending_connected_team_ids": [],
            "is_member": self.bot_user_id in members,
            "topic": {"value": topic, "creator": creator if topic else "",
                      "last_set": created + _DAY if topic else 0},
            "purpose": {"value": purpose, "creator": creator if purpose else "",
                        "last_set": created if purpose else 0},
            "previous_names": [], "num_members": len(members),
        }
        return obj

    def channel(self, ident: str) -> Channel | None:
        """A conversation by id, or by name (``general`` / ``#general``)."""
        found = self.channel_index.get(ident)
        if found is not None:
            return found
        name = ident.lstrip("#")
        return next((c for c in self.channels if c.obj.get("name") == name), None)

    # -- messages --------------------------------------------------------------------------------
    def messages(self, channel: Channel) -> list[dict[str, Any]]:
        """The channel's messages, newest first (built on first use)."""
        if channel.messages is None:
            span = 365 * _DAY if channel.size > 500 else 120 * _DAY
            times = created_series(channel.size, channel.seed, newest=self.now - 60,
                                   span=span) if channel.size else []
            msgs = [self._message(channel, k, t) for k, t in enumerate(times)]
            channel.messages = msgs
            channel.keys = [-ts_key(m["ts"]) for m in msgs]
        return channel.messages

    def _message(self, channel: Channel, k: int, t: int) -> dict[str, Any]:
        d = Dice(channel.seed + k)
        ts = f"{t}.{d.below(1_000_000):06d}"
        authors = [m for m in channel.members if m != self.bot_user_id] or channel.members
        user = d.pick(authors)
        text = d.pick(_TEXTS).format(n=d.between(2, 999), w=d.pick(_CHANNEL_WORDS),
                                     u=d.pick(authors))
        if d.chance(0.06) and channel.kind == "public_channel":
            return {"type": "message", "subtype": "channel_join", "user": user,
                    "text": f"<@{user}> has joined the channel", "ts": ts, "team": self.team_id}
        if d.chance(0.05):
            return {"type": "message", "subtype": "bot_message", "bot_id": self.bot_id,
                    "username": "Metrics Bot", "text": text, "ts": ts}
        msg: dict[str, Any] = {
            "type": "message", "user": user, "text": text, "ts": ts, "team": self.team_id,
            "client_msg_id": "-".join(d.token(n).lower() for n in (8, 4, 4, 4, 12)),
            "blocks": [{"type": "rich_text", "block_id": d.token(5), "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}],
        }
        if d.chance(0.15):
            replies = d.between(1, 12)
            repliers = sorted(set(d.choices(authors, k=min(3, replies))))
            msg.update(thread_ts=ts, reply_count=replies, reply_users_count=len(repliers),
                       latest_reply=f"{t + d.between(60, 86_000)}.{d.below(1_000_000):06d}",
                       reply_users=repliers, subscribed=False)
        if d.chance(0.25):
            name = d.pick(_REACTIONS)
            who = sorted(set(d.choices(authors, k=d.between(1, 4))))
            msg["reactions"] = [{"name": name, "users": who, "count": len(who)}]
        return msg

    def history_position(self, channel: Channel, ts: str) -> int:
        """Index of the first message at or older than ``ts`` (newest-first order)."""
        self.messages(channel)
        return bisect.bisect_left(channel.keys, -ts_key(ts))

    def add_message(self, channel: Channel, message: dict[str, Any]) -> None:
        """Store a message posted through the API: the newest of its channel."""
        msgs = self.messages(channel)
        msgs.insert(0, message)
        channel.keys.insert(0, -ts_key(message["ts"]))

    # -- files -----------------------------------------------------------------------------------
    def _file(self, i: int, fid: str) -> dict[str, Any]:
        d = Dice(salt(self.seed, "file", i))
        created = self.now - 300 - i * 3600 - d.below(3000)  # newest first, an hour apart
        ext, mime, pretty, _ = d.pick(_FILE_TYPES)
        user = d.pick(self.humans)
        visible = [c for c in self.channels if c.kind == "public_channel" and user in c.members]
        shared = [c.id for c in visible[:2]] if visible and d.chance(0.8) else []
        name = f"{d.pick(['report', 'export', 'screenshot', 'notes', 'deck'])}-{i}.{ext}"
        return {
            "id": fid, "created": created, "timestamp": created, "name": name, "title": name,
            "mimetype": mime, "filetype": ext, "pretty_type": pretty, "user": user,
            "user_team": self.team_id, "editable": ext in ("csv", "gdoc"), "size":
            d.between(2_000, 40_000_000), "mode": "hosted", "is_external": False,
            "external_type": "", "is_public": bool(shared), "public_url_shared": False,
            "display_as_bot": False, "username": "",
            "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{fid}/{name}",
            "url_private_download":
                f"https://files.slack.com/files-pri/{self.team_id}-{fid}/download/{name}",
            "permalink": f"{self.url}files/{user}/{fid}/{name}",
            "channels": shared, "groups": [], "ims": [], "comments_count": 0,
            "has_rich_preview": False, "is_starred": False,
        }

    def file_group(self, obj: dict[str, Any]) -> str:
        """The ``types`` group a file belongs to (``images``, ``pdfs``...)."""
        return next(t[3] for t in _FILE_TYPES if t[0] == obj["filetype"])
