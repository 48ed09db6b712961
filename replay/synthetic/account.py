"""The account-level events of a synthetic world: the standards tree, shared outcomes
and their revisions, the district's mastery scale and calculation method.

One stream among the courses' (replay/synthetic/generate.py merges them), drawn from
its own random generator so that its content does not depend on the courses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from replay.synthetic.catalog import (
    SCALE,
    Outcome,
    calc_method_body,
    group_body,
    link_body,
    proficiency_body,
    subjects,
)
from replay.synthetic.course import CourseWorld
from replay.synthetic.world import (
    MS_DAY,
    MS_HOUR,
    ROOT_ACCOUNT,
    SUB_ACCOUNT,
    Actor,
    Event,
    Item,
    canvas_uuid,
    job_meta,
    numify,
)


def account_stream(seed: int, w: CourseWorld, draft: Outcome) -> Iterator[Item]:
    """Account-level events: standards tree, shared outcomes, the district's scale and method."""
    account = _AccountEvents(seed, w)
    t = account.standards_tree()
    account.shared_outcomes(t, draft)
    account.revisions(draft)
    account.scale_and_method()
    account.items.sort()
    yield from account.items


class _AccountEvents:
    """The account-level events, in the order they draw from one random stream.

    The steps must run in that order (`account_stream`): each draws from `rng`, and a
    seed's dump is the same bytes from one version to the next.
    """

    def __init__(self, seed: int, w: CourseWorld) -> None:
        self.w = w
        self.rng = rng = random.Random(f"{seed}/accounts")
        self.items: list[Item] = []
        self.admin = Actor(
            5,
            "registrar@example.edu",
            "A-0005",
            "AccountAdmin",
            "Account",
            SUB_ACCOUNT,
            ROOT_ACCOUNT,
            "DISTRICT-79",
            rng,
        )
        self.root_admin = Actor(
            5,
            "registrar@example.edu",
            "A-0005",
            "AccountAdmin",
            "Account",
            ROOT_ACCOUNT,
            ROOT_ACCOUNT,
            "ROOT",
            rng,
        )
        self.root_ctx = ("Account", ROOT_ACCOUNT, canvas_uuid(seed, "account", ROOT_ACCOUNT))
        self.ctx = ("Account", SUB_ACCOUNT, canvas_uuid(seed, "account", SUB_ACCOUNT))
        self.api = f"/api/v1/accounts/{SUB_ACCOUNT}/outcome_groups"

    def push(self, t: int, meta: Event, body: Event) -> None:
        if self.rng.random() < 0.3:
            body = {k: v for k, v in body.items() if v is not None}
        if self.rng.random() < 0.01:
            numify(body)
        self.items.append((t, 0, len(self.items), {"metadata": meta, "body": body}))

    def day(self, n: int) -> int:
        return self.w.t0 + n * MS_DAY + self.rng.randint(MS_HOUR, 9 * MS_HOUR)

    def standards_tree(self) -> int:
        """The district's groups, down to one per subject; returns the time of the last."""
        push, admin, ctx, api = self.push, self.admin, self.ctx, self.api
        t = self.w.t0
        push(
            t,
            self.root_admin.meta(
                "learning_outcome_group_created", t, "GET", "/accounts/1/outcomes", None
            ),
            group_body(4001, self.root_ctx, "Oxana School District", None, None),
        )
        t += 61_000
        push(
            t,
            admin.meta("learning_outcome_group_created", t, "GET", "/accounts/79/outcomes", None),
            group_body(4002, ctx, "Northside Schools", None, None),
        )
        t += 45_000
        push(
            t,
            admin.meta(
                "learning_outcome_group_created",
                t,
                "POST",
                f"{api}/4002/subgroups",
                "/accounts/79/outcomes",
            ),
            group_body(4003, ctx, "State Standards", 4002, ctx[2]),
        )
        for k, (_, title, _) in enumerate(subjects()):
            t += 20_000
            push(
                t,
                admin.meta(
                    "learning_outcome_group_created",
                    t,
                    "POST",
                    f"{api}/4003/subgroups",
                    "/accounts/79/outcomes",
                ),
                group_body(4004 + k, ctx, title, 4003, ctx[2]),
            )
        return t

    def shared_outcomes(self, t: int, draft: Outcome) -> None:
        """Each account outcome (and the draft) created and linked into its subject's group."""
        rng, push, admin, ctx, api = self.rng, self.push, self.admin, self.ctx, self.api
        import_job = 1020020527000000 + rng.randrange(10**6)
        for n, o in enumerate([*self.w.account_outcomes, draft]):
            t += rng.randint(3_000, 30_000)
            group = 4004 + o.subject
            link = link_body(19001 + n, o, group, ctx)
            if o.subject == 0:  # the mathematics standards arrive through an outcome import
                tag = "OutcomeImport#run"
                items_meta = (
                    job_meta("learning_outcome_created", t, import_job, tag),
                    job_meta("learning_outcome_link_created", t + 9, import_job, tag),
                )
            else:
                path = f"{api}/{group}/outcomes"
                items_meta = (
                    admin.meta(
                        "learning_outcome_created", t, "POST", path, "/accounts/79/outcomes"
                    ),
                    admin.meta(
                        "learning_outcome_link_created",
                        t + 9,
                        "POST",
                        path,
                        "/accounts/79/outcomes",
                    ),
                )
            body = o.body(None)
            if rng.random() < 0.15:  # copied from another institution's outcome
                body["copied_from_outcome_id"] = str(rng.randint(100, 999))
                body["original_outcome_root_account_uuid"] = canvas_uuid("elsewhere", o.oid)
            push(t, items_meta[0], body)
            push(t + 9, items_meta[1], link)

    def revisions(self, draft: Outcome) -> None:
        """Outcomes edited later, the draft's link deleted, the standards group renamed."""
        rng, push, admin, ctx, api = self.rng, self.push, self.admin, self.ctx, self.api
        for o in [*self.w.account_outcomes, draft]:
            if o.change_t:
                u = o.change_t - rng.randint(0, 900)
                push(
                    o.change_t,
                    admin.meta(
                        "learning_outcome_updated",
                        o.change_t,
                        "PUT",
                        f"/api/v1/outcomes/{o.oid}",
                        "/accounts/79/outcomes",
                    ),
                    o.body(u),
                )
        tdel = draft.change_t + 2_000
        push(
            tdel,
            admin.meta(
                "learning_outcome_link_updated",
                tdel,
                "DELETE",
                f"{api}/{4004 + draft.subject}/outcomes/{draft.oid}",
                "/accounts/79/outcomes",
            ),
            link_body(
                19001 + len(self.w.account_outcomes),
                draft,
                4004 + draft.subject,
                ctx,
                tdel,
                "deleted",
            ),
        )
        t = self.day(12)
        push(
            t,
            admin.meta(
                "learning_outcome_group_updated", t, "PUT", f"{api}/4003", "/accounts/79/outcomes"
            ),
            group_body(4003, ctx, "State Standards (2025 revision)", 4002, ctx[2], t),
        )

    def scale_and_method(self) -> None:
        """The root account's mastery scale and calculation method, each set then changed."""
        push, root_admin = self.push, self.root_admin
        t = self.day(21)
        path = "/accounts/1/outcome_proficiency"
        push(
            t,
            root_admin.meta("outcome_proficiency_created", t, "POST", path, None),
            proficiency_body(1, "Account", ROOT_ACCOUNT, 1, SCALE),
        )
        t += 5 * 60_000
        push(
            t,
            root_admin.meta(
                "outcome_calculation_method_created",
                t,
                "POST",
                "/api/graphql",
                "/accounts/1/outcomes",
            ),
            calc_method_body(1, "Account", ROOT_ACCOUNT, "decaying_average", 65),
        )
        t = self.day(35)
        push(
            t,
            root_admin.meta(
                "outcome_calculation_method_updated",
                t,
                "POST",
                "/api/graphql",
                "/accounts/1/outcomes",
            ),
            calc_method_body(
                1, "Account", ROOT_ACCOUNT, "standard_decaying_average", 80, updated_t=t
            ),
        )
        t = self.day(42)
        scale = (("Advanced Mastery", 5.0, False, "127A1B"), *SCALE[1:])
        push(
            t,
            root_admin.meta("outcome_proficiency_updated", t, "POST", path, None),
            proficiency_body(1, "Account", ROOT_ACCOUNT, 1, scale, updated_t=t),
        )
