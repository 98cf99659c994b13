"""Demo data: a small but realistic account, deterministic for a given RNG.

What the demo seed guarantees (tests and the dashboard rely on it):

- five services; `partner-portal`'s friendly_name is an HTML/script string;
- every service has `dev` (suffix "dev"), `stage` ("stage") and `production`
  (no suffix, domain_suffix null, as Twilio's production environments have);
- `ivr-flows`/dev has the longest history, 180 deployments (4 pages of 50);
- `billing-webhooks`/production has nothing deployed: build_sid null, no
  deployments, no logs;
- stage/production are behind dev in `ivr-flows`, `partner-portal` and
  `appointment-reminders` (production only), equal to dev in
  `sms-notifications` and `billing-webhooks` (stage);
- newest builds: `ivr-flows` and `partner-portal` `building`, `sms-notifications`
  `failed`; `ivr-flows` and `billing-webhooks` also have an older failed build.
  Seeded `building` builds never complete by themselves, so tests that expect a
  deploy of them to be refused stay stable;
- each environment's live build is its newest deployment's build;
- logs (info/warn/error) in the last 24 hours, plus a few older than the
  Logs endpoint's default one-day window; variables that differ per environment.
- `appointment-reminders`' newest completed build (live on dev and stage, not yet
  on production) has a traffic profile (store/logs.py): wherever it is deployed, its
  environment logs one invocation a minute from the seed on, a quarter of them
  errors, so promoting it shows errors rising after the deploy.

Dates are relative to "now"; everything else depends only on the RNG seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import sids
from .records import Dependency
from .store.functions_assets import ASSETS, FUNCTIONS, ResourceKind

if TYPE_CHECKING:
    from .store import Store

DEFAULT_RNG_SEED = 20240611
SEEDS = ("demo", "empty")

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class EnvPlan:
    unique_name: str
    domain_suffix: str | None
    deployments: int
    # Which completed build ends up live: 0 = newest completed, 1 = the one before...
    live_offset: int
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ServicePlan:
    unique_name: str
    friendly_name: str
    age_days: int
    builds: int
    functions: tuple[tuple[str, str, str], ...]  # friendly name, path, visibility
    assets: tuple[tuple[str, str, str], ...]
    extra_dependencies: tuple[tuple[str, str], ...]
    statuses: tuple[tuple[int, str], ...]  # (build index from newest, status)
    envs: tuple[EnvPlan, EnvPlan, EnvPlan]


def _envs(
    counts: tuple[int, int, int],
    offsets: tuple[int, int, int],
    variables: tuple[tuple[tuple[str, str], ...], ...],
) -> tuple[EnvPlan, EnvPlan, EnvPlan]:
    return (
        EnvPlan("dev", "dev", counts[0], offsets[0], variables[0]),
        EnvPlan("stage", "stage", counts[1], offsets[1], variables[1]),
        EnvPlan("production", None, counts[2], offsets[2], variables[2]),
    )


PLANS: tuple[ServicePlan, ...] = (
    ServicePlan(
        unique_name="ivr-flows",
        friendly_name="IVR Flows",
        age_days=75,
        builds=60,
        functions=(
            ("incoming call", "/voice/incoming", "public"),
            ("main menu", "/voice/menu", "public"),
            ("gather handler", "/voice/gather-handler", "protected"),
            ("transfer to agent", "/voice/transfer", "protected"),
            ("voicemail", "/voice/voicemail", "protected"),
            ("routing helpers", "/lib/routing", "private"),
        ),
        assets=(
            ("welcome prompt", "/audio/welcome.mp3", "public"),
            ("hold music", "/audio/hold-music.mp3", "public"),
            ("menu config", "/config/menu.json", "private"),
        ),
        extra_dependencies=(("axios", "1.7"),),
        statuses=((0, "building"), (17, "failed")),
        envs=_envs(
            (180, 40, 25),
            (0, 1, 2),
            (
                (
                    ("API_BASE_URL", "https://api.dev.example.com"),
                    ("LOG_LEVEL", "debug"),
                    ("MENU_TIMEOUT_SECONDS", "8"),
                    ("FEATURE_CALLBACK_QUEUE", "true"),
                ),
                (
                    ("API_BASE_URL", "https://api.stage.example.com"),
                    ("LOG_LEVEL", "info"),
                    ("MENU_TIMEOUT_SECONDS", "8"),
                ),
                (
                    ("API_BASE_URL", "https://api.example.com"),
                    ("LOG_LEVEL", "warn"),
                    ("MENU_TIMEOUT_SECONDS", "5"),
                ),
            ),
        ),
    ),
    ServicePlan(
        unique_name="sms-notifications",
        friendly_name="SMS Notifications",
        age_days=50,
        builds=14,
        functions=(
            ("send notification", "/sms/send", "protected"),
            ("status callback", "/sms/status-callback", "protected"),
            ("inbound reply", "/sms/inbound", "public"),
            ("templates", "/lib/templates", "private"),
        ),
        assets=(("welcome template", "/templates/welcome.txt", "private"),),
        extra_dependencies=(("axios", "1.6"), ("lodash", "4.17")),
        statuses=((0, "failed"),),
        envs=_envs(
            (30, 15, 10),
            (0, 0, 0),
            (
                (
                    ("STATUS_CALLBACK_URL", "https://hooks.dev.example.com/sms"),
                    ("RATE_LIMIT_PER_MINUTE", "600"),
                ),
                (
                    ("STATUS_CALLBACK_URL", "https://hooks.stage.example.com/sms"),
                    ("RATE_LIMIT_PER_MINUTE", "120"),
                ),
                (
                    ("STATUS_CALLBACK_URL", "https://hooks.example.com/sms"),
                    ("RATE_LIMIT_PER_MINUTE", "60"),
                    ("OPT_OUT_KEYWORDS", "STOP,UNSUBSCRIBE,CANCEL"),
                ),
            ),
        ),
    ),
    ServicePlan(
        unique_name="billing-webhooks",
        friendly_name="Billing Webhooks",
        age_days=40,
        builds=10,
        functions=(
            ("stripe webhook", "/webhooks/stripe", "public"),
            ("invoice paid", "/webhooks/invoice-paid", "protected"),
            ("ledger client", "/lib/ledger", "private"),
        ),
        assets=(("invoice schema", "/schemas/invoice.json", "private"),),
        extra_dependencies=(("stripe", "14.25"),),
        statuses=((4, "failed"),),
        envs=_envs(
            (25, 12, 0),
            (0, 0, 0),
            (
                (
                    ("LEDGER_URL", "https://ledger.dev.example.com"),
                    ("RETRY_LIMIT", "10"),
                ),
                (
                    ("LEDGER_URL", "https://ledger.stage.example.com"),
                    ("RETRY_LIMIT", "5"),
                ),
                (
                    ("LEDGER_URL", "https://ledger.example.com"),
                    ("RETRY_LIMIT", "3"),
                ),
            ),
        ),
    ),
    ServicePlan(
        unique_name="partner-portal",
        friendly_name='<script>alert("x")</script> & Partners',
        age_days=30,
        builds=9,
        functions=(
            ("partner auth", "/partners/auth", "protected"),
            ("partner callback", "/partners/callback", "public"),
            ("usage report", "/partners/report", "protected"),
        ),
        assets=(
            ("logo", "/portal/logo.png", "public"),
            ("styles", "/portal/styles.css", "public"),
        ),
        extra_dependencies=(("jsonwebtoken", "9.0"),),
        statuses=((0, "building"),),
        envs=_envs(
            (20, 8, 5),
            (0, 1, 1),
            (
                (
                    ("PORTAL_ORIGIN", "https://partners.dev.example.com"),
                    ("SESSION_TTL_MINUTES", "240"),
                ),
                (
                    ("PORTAL_ORIGIN", "https://partners.stage.example.com"),
                    ("SESSION_TTL_MINUTES", "60"),
                ),
                (
                    ("PORTAL_ORIGIN", "https://partners.example.com"),
                    ("SESSION_TTL_MINUTES", "30"),
                ),
            ),
        ),
    ),
    ServicePlan(
        unique_name="appointment-reminders",
        friendly_name="Appointment Reminders",
        age_days=20,
        builds=8,
        functions=(
            ("schedule reminder", "/reminders/schedule", "protected"),
            ("confirm", "/reminders/confirm", "public"),
            ("cancel", "/reminders/cancel", "public"),
        ),
        assets=(("reminder template", "/templates/reminder.txt", "private"),),
        extra_dependencies=(("luxon", "3.4"),),
        statuses=(),
        envs=_envs(
            (15, 6, 4),
            (0, 0, 2),
            (
                (("REMINDER_LEAD_HOURS", "1"), ("TIMEZONE", "UTC")),
                (("REMINDER_LEAD_HOURS", "24"), ("TIMEZONE", "America/New_York")),
                (("REMINDER_LEAD_HOURS", "24"), ("TIMEZONE", "America/New_York")),
            ),
        ),
    ),
)

LOG_MESSAGES = {
    "info": (
        "Execution started for {path}",
        "Execution ended for {path} in {ms}ms",
        "Loaded configuration from environment",
        "Returning TwiML response ({ms} bytes)",
    ),
    "warn": (
        "Slow upstream response from API_BASE_URL: {ms}ms",
        "Retrying request to ledger (attempt 2 of 3)",
        "Deprecated parameter 'Digits' used in {path}",
    ),
    "error": (
        "Error: Request failed with status code 502 in {path}",
        "TypeError: Cannot read properties of undefined (reading 'To')",
        "Function {path} timed out after 10000ms",
    ),
}


def apply_seed(store: Store, seed: str | None, *, rng: random.Random, now: float) -> None:
    if seed in (None, "empty"):
        return
    if seed != "demo":
        raise ValueError(f"unknown seed {seed!r}; choose one of {', '.join(SEEDS)}")
    _Demo(store, rng, now).build()


def new_rng(rng_seed: int | None) -> random.Random:
    return random.Random(DEFAULT_RNG_SEED if rng_seed is None else rng_seed)


class _Demo:
    def __init__(self, store: Store, rng: random.Random, now: float) -> None:
        self.store = store
        self.rng = rng
        # Whole seconds keep rendered dates and sort order in step.
        self.now = float(int(now))

    def sid(self, prefix: str) -> str:
        return prefix + f"{self.rng.getrandbits(128):032x}"

    def build(self) -> None:
        for plan in PLANS:
            self.service(plan)
        self.erring_build("appointment-reminders")

    def erring_build(self, service_name: str) -> None:
        service = self.store.service(service_name)
        newest = next(b for b in self.store.builds(service.sid) if b.status == "completed")
        self.store.set_build_traffic(newest.sid, error_rate=0.25, every=60.0)

    def service(self, plan: ServicePlan) -> None:
        rng, store = self.rng, self.store
        born = self.now - plan.age_days * DAY
        service = store.create_service(
            unique_name=plan.unique_name,
            friendly_name=plan.friendly_name,
            domain_base=f"{plan.unique_name}-{rng.randint(1000, 9999)}",
            sid=self.sid(sids.SERVICE),
            date_created=born,
        )
        envs = [
            store.create_environment(
                service.sid,
                unique_name=env.unique_name,
                domain_suffix=env.domain_suffix,
                sid=self.sid(sids.ENVIRONMENT),
                date_created=born + 60 * (i + 1),
            )
            for i, env in enumerate(plan.envs)
        ]
        builds = self.builds(plan, service.sid, born)
        completed = [(sid, at) for sid, at, status in builds if status == "completed"]
        for env_plan, env in zip(plan.envs, envs, strict=True):
            for key, value in env_plan.variables:
                store.create_variable(
                    env.sid,
                    key=key,
                    value=value,
                    sid=self.sid(sids.VARIABLE),
                    date_created=env.date_created + 120,
                )
            history = self.history(env.sid, env_plan, completed)
            self.logs(env.sid, history)

    def builds(
        self, plan: ServicePlan, service_sid: str, born: float
    ) -> list[tuple[str, float, str]]:
        """Create functions, assets, their versions and the builds; oldest first."""
        rng, store = self.rng, self.store
        functions = self.resources(FUNCTIONS, service_sid, plan.functions, born + 300)
        assets = self.resources(ASSETS, service_sid, plan.assets, born + 300)
        first = born + DAY
        last = self.now - 2 * HOUR
        step = (last - first) / max(plan.builds - 1, 1)
        statuses = {plan.builds - 1 - index: status for index, status in plan.statuses}
        live_fv: dict[str, str] = {}
        live_av: dict[str, str] = {}
        result: list[tuple[str, float, str]] = []
        for n in range(plan.builds):
            at = float(
                int(first + n * step + rng.uniform(-0.3, 0.3) * step * (0 < n < plan.builds - 1))
            )
            # The first build ships everything; later ones change one or two files.
            changed = (
                functions
                if n == 0
                else rng.sample(functions, k=min(len(functions), rng.randint(1, 2)))
            )
            for function_sid, path, visibility in changed:
                live_fv[function_sid] = store.create_function_version(
                    function_sid,
                    path=path,
                    visibility=visibility,
                    content=_function_source(path, n),
                    sid=self.sid(sids.FUNCTION_VERSION),
                    date_created=at - 600,
                ).sid
            if n == 0 or rng.random() < 0.15:
                for asset_sid, path, visibility in assets if n == 0 else [rng.choice(assets)]:
                    live_av[asset_sid] = store.create_asset_version(
                        asset_sid,
                        path=path,
                        visibility=visibility,
                        sid=self.sid(sids.ASSET_VERSION),
                        date_created=at - 600,
                    ).sid
            progress = n / max(plan.builds - 1, 1)
            build = store.create_build(
                service_sid,
                function_versions=[live_fv[f] for f, _, _ in functions],
                asset_versions=[live_av[a] for a, _, _ in assets],
                dependencies=_dependencies(plan, progress, n),
                runtime="node18" if progress < 0.3 else "node20" if progress < 0.75 else "node22",
                status=statuses.get(n, "completed"),
                sid=self.sid(sids.BUILD),
                date_created=at,
            )
            result.append((build.sid, at, build.status))
        return result

    def resources(
        self,
        kind: ResourceKind[Any, Any],
        service_sid: str,
        specs: tuple[tuple[str, str, str], ...],
        at: float,
    ) -> list[tuple[str, str, str]]:
        """Create Functions or Assets; (sid, path, visibility) for each spec."""
        return [
            (
                self.store.create_resource(
                    kind,
                    service_sid,
                    friendly_name=name,
                    sid=self.sid(kind.prefix),
                    date_created=at,
                ).sid,
                path,
                visibility,
            )
            for name, path, visibility in specs
        ]

    def history(
        self, env_sid: str, plan: EnvPlan, completed: list[tuple[str, float]]
    ) -> list[tuple[float, str, str]]:
        """Create `plan.deployments` deployments ending on the planned live build.

        Never the same build twice in a row: the API refuses that with 409.
        Returns (time, deployment sid, build sid), oldest first.
        """
        if plan.deployments == 0:
            return []
        rng = self.rng
        target_sid, target_at = completed[-1 - plan.live_offset]
        eligible = [(sid, at) for sid, at in completed if at <= target_at]
        # Lagging environments take a build hours or days after dev got it.
        lag = {"dev": 0.25 * HOUR, "stage": 3 * HOUR, "production": 1.5 * DAY}.get(
            plan.unique_name, HOUR
        )
        end = min(target_at + lag * rng.uniform(0.5, 1.5), self.now - 20 * 60)
        start = eligible[min(2, len(eligible) - 1)][1] + HOUR
        times = sorted(rng.uniform(start, end - 60) for _ in range(plan.deployments - 1))
        times = [float(int(t)) for t in times] + [float(int(end))]
        for i in range(1, len(times)):  # strictly increasing whole seconds
            times[i] = max(times[i], times[i - 1] + 1)
        history: list[tuple[float, str, str]] = []
        previous: str | None = None
        for i, at in enumerate(times):
            if i == len(times) - 1:
                choice = target_sid
            else:
                banned = {previous, target_sid} if i == len(times) - 2 else {previous}
                available = [sid for sid, built in eligible if built < at and sid not in banned]
                if not available:
                    available = [sid for sid, _ in eligible if sid not in banned]
                # Mostly the newest build; sometimes a rollback to a recent one.
                choice = available[-1] if rng.random() < 0.75 else rng.choice(available[-4:])
            deployment = self.store.add_deployment_record(
                env_sid, choice, date_created=at, sid=self.sid(sids.DEPLOYMENT)
            )
            history.append((at, deployment.sid, choice))
            previous = choice
        return history

    def logs(self, env_sid: str, history: list[tuple[float, str, str]]) -> None:
        if not history:
            return
        rng, store = self.rng, self.store
        live_build = store.build(history[-1][2])
        paths = {ref.parent_sid: ref.path for ref in live_build.function_versions}
        function_sids = sorted(paths)
        # Mostly the last day; five older lines sit outside the default window.
        moments = sorted(
            [self.now - rng.uniform(60, DAY - 60) for _ in range(40)]
            + [self.now - rng.uniform(1.2 * DAY, 3 * DAY) for _ in range(5)]
        )
        for at in moments:
            at = float(int(at))
            level = rng.choices(("info", "warn", "error"), weights=(70, 20, 10))[0]
            function_sid = rng.choice(function_sids)
            source = [sid for time, sid, _ in history if time <= at]
            template = rng.choice(LOG_MESSAGES[level])
            store.add_log(
                env_sid,
                level=level,
                message=template.format(path=paths[function_sid], ms=rng.randint(12, 2400)),
                function_sid=function_sid,
                date_created=at,
                deployment_sid=source[-1] if source else history[0][1],
                sid=self.sid(sids.LOG),
                request_sid=self.sid(sids.REQUEST),
            )


def _dependencies(plan: ServicePlan, progress: float, n: int) -> list[Dependency]:
    twilio_minor = int(progress * 3)
    deps = [
        Dependency("twilio", f"5.{twilio_minor}.{n % 4}"),
        Dependency("@twilio/runtime-handler", "2.1.0" if progress > 0.5 else "2.0.3"),
    ]
    deps += [Dependency(name, f"{version}.{n % 5}") for name, version in plan.extra_dependencies]
    return deps


def _function_source(path: str, revision: int) -> str:
    return (
        f"// {path} (revision {revision})\n"
        "exports.handler = function (context, event, callback) {\n"
        "  const twiml = new Twilio.twiml.VoiceResponse();\n"
        f"  twiml.say('Handled by {path}');\n"
        "  callback(null, twiml);\n"
        "};\n"
    )
