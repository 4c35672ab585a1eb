"""Deterministic benchmark corpus: N Ukrainian news articles as seeds, plus Markdown twins.

Each article is written four times from the same text: a seed for feeds (SPEC 2 format, the
title derived from the lead), a Pelican Markdown file (metadata header), a Hugo Markdown file
(TOML front matter) and a Markdown seed for feeds' `.md` run (YAML front matter; headings,
quotes, emphasis and links in every article, a list in every third, a table in every fifth).
Articles are dated 12 a day, ending on END_DATE; the same `seed` always gives byte-identical
files.

    python3 benchmarks/corpus.py 10000 benchmarks/work/corpus-10000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

VERSION = "3"  # bump when the generated text changes, so cached corpora are rebuilt
DEFAULT_SEED = 8  # issue 8
END_DATE = datetime(2026, 2, 20)
PER_DAY = 12
FIRST_SLOT = 7 * 60  # minutes after midnight of the day's first article (07:00)
SLOT_MINUTES = 80  # 12 slots between 07:00 and 23:00
MIN_BYTES, MAX_BYTES = 4350, 5120

# Source text for the sentence generator: news register, a few topics, plain Ukrainian.
SOURCE = """
Україна пропонує Японії започаткувати оборонне партнерство, яке може включати спільне
виробництво, обмін технологіями та співпрацю у сфері протиповітряної оборони і дронів.
Про це заявив президент України в інтерв'ю міжнародному агентству.
За словами президента, між Україною та Японією вже існує тісна координація в енергетичному та
гуманітарному напрямах, а також на рівні дипломатичних представництв.
Водночас відкриття оборонного виміру співпраці може стати новою сторінкою у відносинах двох
країн, вважає президент.
Глава держави наголосив, що партнери володіють ліцензіями та власними виробництвами систем
протиповітряної оборони, здатних протидіяти балістичним загрозам.
Україна готова ділитися власними напрацюваннями, зокрема у сфері морських дронів, кібербезпеки
та захисту критичної інфраструктури в умовах війни.
Під час виступу в університеті глава держави повідомив, що нині в Україні працюють близько
450 компаній, які займаються виробництвом безпілотників.
У лютому розпочалося виробництво українських дронів у Німеччині, а до кінця року в Європі
запрацюють десять експортних центрів українських технологій.
Уряд ухвалив рішення про виділення додаткових коштів на відновлення енергетичної
інфраструктури у прифронтових громадах.
Міністерство фінансів повідомило, що надходження до державного бюджету за минулий місяць
перевищили план на шість відсотків.
Національний банк зберіг облікову ставку на попередньому рівні, пояснивши це уповільненням
інфляції та стабільною ситуацією на валютному ринку.
Експерти очікують, що економіка країни зростатиме помірними темпами до кінця року.
У Києві відкрили оновлений міст через Дніпро, рух яким було обмежено понад два роки.
Міська рада затвердила програму ремонту шкіл і лікарень, на яку спрямують понад мільярд гривень.
Синоптики прогнозують на вихідних мокрий сніг, ожеледицю та пориви вітру до п'ятнадцяти метрів
на секунду в західних областях.
На сході країни тримається морозна погода, а вдень температура підніметься до двох градусів
тепла.
Рятувальники закликали водіїв без нагальної потреби не виїжджати на трасу під час негоди.
Збірна України з футболу здобула перемогу в товариському матчі та піднялася в рейтингу.
Головний тренер команди подякував уболівальникам за підтримку і пообіцяв нові перемоги.
Українські біатлоністки посіли третє місце в естафеті на етапі Кубка світу.
У Львові триває фестиваль сучасного театру, на який приїхали трупи з дванадцяти країн.
Організатори зазначають, що всі квитки на вечірні вистави продали ще за тиждень до початку.
Національний музей представив виставку творів українських художників двадцятого століття.
Науковці університету розробили нову методику очищення води для невеликих громад.
Дослідження фінансували міжнародні партнери, а перші установки вже працюють у трьох селах.
Лікарі нагадують про важливість щеплень і радять не відкладати планові огляди.
Міністерство охорони здоров'я оновило перелік ліків, які можна отримати безоплатно.
Фермери південних областей завершили сівбу озимих, попри складні погодні умови.
Аграрії розраховують на добрий урожай, якщо весна буде теплою і вологою.
Експорт зерна через морські порти зріс порівняно з минулим роком.
Представники громади звернулися до обласної адміністрації з проханням відремонтувати дорогу.
Депутати підтримали законопроєкт у першому читанні, а остаточне голосування відбудеться
наступного місяця.
Опозиція критикує документ і вимагає додаткових консультацій з експертами та громадськістю.
Європейська комісія схвалила виділення нового траншу макрофінансової допомоги Україні.
Кошти спрямують на підтримку соціальних виплат, відновлення житла та енергетики.
Прем'єр-міністр провів зустріч з інвесторами та запросив їх до участі у великих проєктах.
Під час переговорів сторони домовилися про створення спільної робочої групи.
Мешканці міста можуть подати заявку на компенсацію за пошкоджене житло через застосунок.
Процедура займає кілька хвилин, а рішення ухвалюють протягом місяця.
Поліція затримала групу шахраїв, які ошукали понад сто людей через фейкові оголошення.
Слідчі радять перевіряти продавців і не передавати дані банківських карток стороннім.
Учні старших класів складатимуть національний мультипредметний тест у травні та червні.
Освітяни зазначають, що підготовка до тестування триває за новою програмою.
Залізниця призначила додаткові поїзди на святкові дні та відкрила продаж квитків.
Пасажирів просять заздалегідь планувати поїздки, бо попит на квитки високий.
"""

SPEAKERS = (
    "зазначив міністр",
    "наголосила речниця відомства",
    "сказав голова громади",
    "підкреслив експерт",
    "повідомила очільниця департаменту",
    "зауважив представник уряду",
    "додав тренер",
    "розповіла директорка музею",
)


@dataclass(frozen=True)
class Article:
    """One generated article: its id, date and paragraphs ((kind, text); kinds p/h2/quote)."""

    stem: str
    date: datetime
    blocks: tuple[tuple[str, str], ...]

    @property
    def title(self) -> str:
        """A title for the Markdown twins: the lead up to its first clause end."""
        lead = self.blocks[0][1]
        title = re.split(r"[,;:.!?…]| — ", lead, maxsplit=1)[0].strip()
        if len(title.split()) < 3:  # as feeds does: too short, take the whole sentence
            title = re.split(r"[.!?…]", lead, maxsplit=1)[0].strip()
        return title[:110]


def _chain(text: str) -> tuple[list[str], dict[str, list[str]]]:
    words = text.split()
    starts = [words[0]] + [b for a, b in itertools.pairwise(words) if a[-1] in ".!?"]
    follow: dict[str, list[str]] = {}
    for a, b in itertools.pairwise(words):
        if a[-1] not in ".!?":
            follow.setdefault(a, []).append(b)
    return starts, follow


def sentence_pool(rng: random.Random, count: int) -> list[str]:
    """`count` sentences from a word chain over SOURCE (8–30 words, ending in a full stop)."""
    starts, follow = _chain(SOURCE)
    pool: list[str] = []
    while len(pool) < count:
        words = [rng.choice(starts)]
        while words[-1][-1] not in ".!?" and words[-1] in follow and len(words) < 30:
            words.append(rng.choice(follow[words[-1]]))
        if words[-1][-1] in ".!?" and len(words) >= 8:
            pool.append(" ".join(words))
    return pool


def _heading(rng: random.Random, pool: list[str]) -> str:
    words = rng.choice(pool).rstrip(".!?").replace(",", "").split()
    size = rng.randint(3, 7)
    at = rng.randint(0, max(0, len(words) - size))
    text = " ".join(words[at : at + size]).strip(" :;—–-")
    return text[:1].upper() + text[1:]


def make_article(rng: random.Random, pool: list[str], stem: str, date: datetime) -> Article:
    """One article of MIN_BYTES–MAX_BYTES (as a seed): lead, paragraphs, subheadings, quotes."""
    target = rng.randint(MIN_BYTES, MAX_BYTES)
    lead = " ".join(rng.sample(pool, 2))
    blocks: list[tuple[str, str]] = [("p", lead), ("p", rng.choice(pool))]
    size = len(lead.encode()) + 60
    since_heading = 1
    attempts = 0
    while True:
        roll = rng.random()
        if since_heading >= 3 and roll < 0.35:
            block = ("h2", _heading(rng, pool))
            since_heading = 0
        elif since_heading > 0 and roll < 0.5:
            said = rng.choice(pool).rstrip(".!?")
            block = ("quote", f"— {said}, — {rng.choice(SPEAKERS)}.")
            since_heading += 1
        else:
            block = ("p", " ".join(rng.sample(pool, rng.randint(1, 3))))
            since_heading += 1
        cost = len(block[1].encode()) + 2
        if size + cost > target:
            if size >= target - 250 or attempts > 50:
                break
            attempts += 1
            continue  # too long for what is left: try another block
        blocks.append(block)
        size += cost
    if blocks[-1][0] == "h2":
        blocks.pop()
    return Article(stem, date, tuple(blocks))


def article_date(index: int, count: int, rng: random.Random) -> datetime:
    """Article `index` of `count` (0 = oldest): 12 a day, the newest day being END_DATE."""
    day = END_DATE - timedelta(days=(count - 1 - index) // PER_DAY)
    slot = index % PER_DAY if count >= PER_DAY else index
    minutes = FIRST_SLOT + slot * SLOT_MINUTES + rng.randrange(SLOT_MINUTES - 5)
    return day + timedelta(minutes=minutes)


def articles(count: int, seed: int = DEFAULT_SEED) -> Iterator[Article]:
    """The corpus, oldest first."""
    rng = random.Random(seed)
    pool = sentence_pool(rng, 6000)
    for index in range(count):
        stem = f"{index:06d}_{rng.getrandbits(64):016x}"
        yield make_article(rng, pool, stem, article_date(index, count, rng))


def extra_article(count: int, seed: int = DEFAULT_SEED) -> Article:
    """The article the 'add one' step drops in: newer than every article of the corpus."""
    rng = random.Random(seed * 1_000_003 + count)
    pool = sentence_pool(rng, 500)
    last = article_date(count - 1, count, random.Random(0)).replace(hour=23, minute=30)
    return make_article(rng, pool, f"{count:06d}_{rng.getrandbits(64):016x}", last)


def _body_seed(blocks: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"# {text}" if kind == "h2" else text for kind, text in blocks]


def seed_text(article: Article) -> str:
    """The seed file: ` date YYYY-MM-DDTHH:MM lead`, then blank-line separated paragraphs."""
    when = article.date.strftime("%Y-%m-%dT%H:%M")
    lead, *rest = _body_seed(article.blocks)
    # Subheadings in the example seed are bare short lines; keep that form (no '#').
    rest = [line[2:] if line.startswith("# ") else line for line in rest]
    return f" date {when} {lead}\n\n" + "\n\n".join(rest) + "\n"


def _markdown_body(article: Article) -> str:
    parts = []
    for kind, text in article.blocks:
        if kind == "h2":
            parts.append(f"## {text}")
        elif kind == "quote":
            parts.append(f"> {text}")
        else:
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def pelican_text(article: Article) -> str:
    """The Pelican twin: a Markdown metadata header, then the same paragraphs."""
    when = article.date.strftime("%Y-%m-%d %H:%M")
    return (
        f"Title: {article.title}\nDate: {when}\nSlug: {article.stem}\n"
        f"Summary: {article.blocks[0][1]}\n\n" + _markdown_body(article)
    )


def hugo_text(article: Article) -> str:
    """The Hugo twin: TOML front matter, then the same paragraphs."""
    when = article.date.strftime("%Y-%m-%dT%H:%M:00")
    return (
        f"+++\ntitle = {json.dumps(article.title, ensure_ascii=False)}\ndate = {when}\n"
        f"summary = {json.dumps(article.blocks[0][1], ensure_ascii=False)}\n+++\n\n"
        + _markdown_body(article)
    )


def markdown_text(article: Article) -> str:
    """The `.md` seed for feeds: YAML front matter, then the same paragraphs written with
    the Markdown a real archive has (the decorations depend only on the article's stem)."""
    when = article.date.strftime("%Y-%m-%dT%H:%M:00")
    number = int(article.stem[-6:], 16)
    parts: list[str] = []
    for position, (kind, text) in enumerate(article.blocks):
        if kind == "h2":
            parts.append(f"## {text}")
        elif kind == "quote":
            parts.append(f"> {text}")
        else:
            parts.append(_decorated(text, position))
        if position == 1 and number % 3 == 0:
            parts.append("\n".join(f"- {' '.join(t.split()[:6])}" for _, t in article.blocks[:3]))
        if position == 1 and number % 5 == 0:
            parts.append(
                "| Показник | Значення | Зміна |\n|:---|---:|:---:|\n"
                + "\n".join(f"| {t.split()[0]} | {len(t)} | {len(t) % 7 - 3:+d} |"
                             for _, t in article.blocks[:3])
            )  # fmt: skip
    title = json.dumps(article.title, ensure_ascii=False)
    return f"---\ntitle: {title}\ndate: {when}\n---\n\n" + "\n\n".join(parts) + "\n"


def _decorated(text: str, position: int) -> str:
    """A paragraph with one word in *emphasis*, one in **strong** and, every other
    paragraph, a link (relative: feeds makes it absolute)."""
    words = text.split()
    if len(words) > 6:
        words[2] = f"*{words[2]}*"
        words[5] = f"**{words[5]}**"
    if position % 2 == 0:
        words.append(f"[Докладніше](/archive/{position}/)")
    return " ".join(words)


@dataclass(frozen=True)
class CorpusPaths:
    """Where a generated corpus lives."""

    root: Path

    @property
    def seeds(self) -> Path:
        """Seeds for feeds."""
        return self.root / "seeds"

    @property
    def pelican(self) -> Path:
        """Pelican content folder."""
        return self.root / "pelican"

    @property
    def hugo(self) -> Path:
        """Hugo content folder (the site's content/posts)."""
        return self.root / "hugo"

    @property
    def markdown(self) -> Path:
        """Markdown seeds for feeds (the `--markdown` run)."""
        return self.root / "markdown"


def write_article(paths: CorpusPaths, article: Article, mtime: float | None = None) -> None:
    """Write the seed and the Markdown twins of one article (mtime defaults to its date)."""
    stamp = article.date.timestamp() if mtime is None else mtime
    for folder, text in (
        (paths.seeds, seed_text(article)),
        (paths.pelican, pelican_text(article)),
        (paths.hugo, hugo_text(article)),
        (paths.markdown, markdown_text(article)),
    ):
        path = folder / f"{article.stem}.{'txt' if folder == paths.seeds else 'md'}"
        path.write_text(text, encoding="utf-8")
        os.utime(path, (stamp, stamp))


def generate(root: Path, count: int, seed: int = DEFAULT_SEED) -> CorpusPaths:
    """Write the corpus under root (reused when a complete one with the same recipe exists)."""
    paths = CorpusPaths(root)
    recipe = {"version": VERSION, "count": count, "seed": seed}
    marker = root / "corpus.json"
    if marker.exists() and json.loads(marker.read_text()).get("recipe") == recipe:
        return paths
    if root.exists():
        shutil.rmtree(root)
    for folder in (paths.seeds, paths.pelican, paths.hugo, paths.markdown):
        folder.mkdir(parents=True)
    total = 0
    for article in articles(count, seed):
        write_article(paths, article)
        total += len(seed_text(article).encode())
    marker.write_text(json.dumps({"recipe": recipe, "seed_bytes": total}))
    return paths


def main() -> None:
    """CLI: generate a corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("root", type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    paths = generate(args.root, args.count, args.seed)
    print(json.loads((paths.root / "corpus.json").read_text()))


if __name__ == "__main__":
    main()
