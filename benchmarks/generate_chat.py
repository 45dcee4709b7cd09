"""Generate the validator benchmark's chat fine-tuning file, deterministically (seeded).

Every example has the same system prompt (157 o200k tokens), then: ~60% single-turn, ~25%
multi-turn (2-4 user turns, sometimes ``"weight": 0`` on an earlier assistant reply), ~15%
tool calls (line-level ``tools``, assistant ``tool_calls`` with JSON-string ``arguments``,
``tool`` messages answering the call ids, a final answer). Text mixes a vocabulary, numbers,
prices, ids, accented names and places and a rare emoji. Valid for ``ftflow validate``: a
unique ticket number in each first user message (no duplicates), a few hundred tokens per
example, no special-token strings. Lines are written as made (constant memory); a sidecar
``<file>.params.json`` (parameters, generator hash, size) lets a rerun reuse the file.

Usage: ``python benchmarks/generate_chat.py [--examples N] [--out PATH] [--seed S]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import string
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_EXAMPLES = 200_000
DEFAULT_SEED = 1729
OUT_DIR = Path(__file__).resolve().parent / "out"

SYSTEM_PROMPT = (
    "You are Harbor, the support assistant of Northwind Outfitters, a retailer of outdoor "
    "clothing, camping gear and bicycles. Answer in the customer's language, briefly and "
    "warmly, and never invent facts: if an order, parcel or product is not in the conversation "
    "or a tool result, say so and offer to look it up. Prices include VAT. Returns are free "
    "within 30 days of delivery for unused items; sale items can be exchanged, not refunded. "
    "Standard delivery takes 2-5 working days, express one day when ordered before 14:00. "
    "Never ask for card numbers or passwords. For damaged goods over 200 EUR, legal "
    "complaints or account deletion, open a hand-over: a colleague replies within a day. "
    "Ask one short question only when you need more details."
)


def _split(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


WORDS = _split(
    "the a an and but or so because when while after before if then also still just only "
    "very quite rather almost again already soon today yesterday tomorrow week month order "
    "parcel delivery return refund exchange size colour jacket boots tent backpack bicycle "
    "helmet gloves sleeping bag stove lamp rope shoes socks trousers shirt fleece rain zip "
    "pocket strap buckle wheel saddle chain brake tyre pump bottle map compass knife mug "
    "I you we they it my your our their this that these those there here what which who "
    "is are was were be been have has had do does did can could would should will may might "
    "need want like love hate think know see look find send ship arrive track cancel change "
    "pay charge cost wear fit break tear open close check confirm update replace repair "
    "wrong right big small large light heavy warm cold wet dry new old broken missing late "
    "early cheap expensive blue red green black grey orange yellow waterproof comfortable "
    "customer shop store website app account email address phone code number invoice receipt "
    "label box package courier driver warehouse team colleague manager weekend morning evening "
    "please thanks sorry hello great fine okay sure unfortunately actually probably exactly "
    "about for from with without into onto over under between through during since until "
    "help question problem issue reason answer option choice price discount voucher sale "
    "stock model version colourway fabric seam sole lining hood collar sleeve winter summer"
)
NAMES = _split(
    "Anna José Zoë Søren François Björn Łukasz Chloé Mateus Aiko Noor Ólafur Renée Tomás"
)
CITIES = _split(
    "Zürich|São Paulo|Malmö|Kraków|Montréal|Reykjavík|Köln|Göteborg|Lyon|Porto|Dublin|Oslo|"
    "Bergen|Tallinn|Sevilla|Ærøskøbing|Graz",
    "|",
)
PRODUCTS = _split(
    "Ridgeline 45L backpack|Fjellstorm shell jacket|Trailhead GTX boots|Nordlys 2-person tent|"
    "Kestrel gravel bike|Summit down sleeping bag|Basecamp titanium stove|Lumen 400 head torch|"
    "Alpenglow merino base layer|Tundra insulated bottle|Cascade rain trousers|Vidda poles",
    "|",
)
CURRENCIES = ("€", "$", "£", "CHF ", "kr ")
EMOJI = ("🙂", "👍", "🎒", "🚲", "⛺", "❄️")
CARRIERS = ("DHL", "PostNord", "UPS", "GLS", "Correios", "DPD")
STATUSES = ("processing", "packed", "shipped", "in transit", "out for delivery", "delivered")
ALNUM = string.ascii_letters + string.digits

# Function tools: "name: description", then "  parameter[*] type: description" (* = required).
TOOL_SPECS = """
get_order_status: Status, items and delivery estimate of an order.
  order_id* string: Order number, e.g. NW-123456.
track_shipment: Latest tracking events of a parcel.
  tracking_number* string: The carrier's tracking number.
  carrier* string: Carrier name: DHL, PostNord, UPS, GLS, Correios or DPD.
check_inventory: Stock of a product, online or in one shop.
  product* string: Product name as shown on the website.
  size string: Size label, e.g. M or 42.
  city string: City of the shop; omit for online stock.
create_return: Open a return and email the customer a label.
  order_id* string: Order number.
  reason* string: Why the items go back: size, defect or other.
  quantity integer: How many items are returned (default 1).
get_store_hours: Opening hours of a shop on a date.
  city* string: City of the shop.
  date string: ISO date, e.g. 2024-05-17.
convert_price: Convert a price at today's rate.
  amount* number: Amount to convert.
  from_currency* string: ISO 4217 code of the amount.
  to_currency* string: ISO 4217 code to convert to.
"""


def parse_tools(spec: str) -> dict[str, Any]:
    """``tools`` entries (chat completions format) from :data:`TOOL_SPECS`, by name."""
    tools: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for line in spec.strip().splitlines():
        head, _, description = line.strip().partition(": ")
        if not line.startswith(" "):
            properties, required = {}, []
            parameters = {"type": "object", "properties": properties, "required": required}
            function = {"name": head, "description": description, "parameters": parameters}
            tools[head] = {"type": "function", "function": function}
            continue
        name, kind = head.split()
        properties[name.rstrip("*")] = {"type": kind, "description": description}
        if name.endswith("*"):
            required.append(name.rstrip("*"))
    return tools


TOOLS = parse_tools(TOOL_SPECS)


class TextMaker:
    """Sentences and paragraphs from the vocabulary, with facts and rare non-ASCII."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def order_id(self) -> str:
        return f"NW-{self.rng.randint(100_000, 999_999)}"

    def date(self) -> str:
        return f"2024-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def fact(self) -> str:
        """A price, an order id, a place, a product, a name, a date or a number."""
        r = self.rng
        kind = r.randrange(7)
        if kind < 3:
            return r.choice((CITIES, PRODUCTS, NAMES)[kind])
        if kind == 3:
            return f"{r.choice(CURRENCIES)}{r.randint(5, 900)}.{r.randint(0, 99):02d}"
        return self.order_id() if kind == 4 else self.date() if kind == 5 else str(r.randint(2, 99))

    def sentence(self) -> str:
        r = self.rng
        words = r.choices(WORDS, k=r.randint(4, 9))
        for _ in range(r.choice((0, 0, 1, 1, 2))):
            words.insert(r.randrange(len(words) + 1), self.fact())
        if r.random() < 0.15:
            words.insert(r.randrange(1, len(words)), ",")
        text = " ".join(words).replace(" ,", ",")
        return text[0].upper() + text[1:] + r.choice(".....?!")

    def paragraph(self, low: int, high: int) -> str:
        r = self.rng
        sentences = [self.sentence() for _ in range(r.randint(low, high))]
        if r.random() < 0.08:
            bullets = "\n".join(f"- {self.sentence()}" for _ in range(r.randint(2, 3)))
            sentences.append("\n" + bullets + "\n")
        text = " ".join(sentences)
        if r.random() < 0.03:
            text += " " + r.choice(EMOJI)
        return text

    def arguments(self, name: str) -> dict[str, Any]:
        r = self.rng
        if name == "get_order_status":
            return {"order_id": self.order_id()}
        if name == "track_shipment":
            digits = "".join(r.choices(string.digits, k=14))
            return {"tracking_number": digits, "carrier": r.choice(CARRIERS)}
        if name == "check_inventory":
            city = {"city": r.choice(CITIES)} if r.random() < 0.6 else {}
            return {"product": r.choice(PRODUCTS), "size": r.choice("SML"), **city}
        if name == "create_return":
            reason = r.choice(["size", "defect", "other"])
            return {"order_id": self.order_id(), "reason": reason, "quantity": r.randint(1, 3)}
        if name == "get_store_hours":
            return {"city": r.choice(CITIES), "date": self.date()}
        return {"amount": r.randint(10, 900), "from_currency": "EUR", "to_currency": "SEK"}

    def tool_result(self) -> dict[str, Any]:
        r = self.rng
        updated = f"{self.date()}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
        return {"status": r.choice(STATUSES), "updated": updated, "note": self.sentence()}


def make_example(index: int, text: TextMaker) -> tuple[str, dict[str, Any]]:
    """Example ``index`` (its kind, its JSON object)."""
    r = text.rng
    ticket = f"Ticket #{index:07d}. "
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    roll = r.random()
    if roll < 0.60:
        messages.append({"role": "user", "content": ticket + text.paragraph(1, 1)})
        messages.append({"role": "assistant", "content": text.paragraph(1, 2)})
        return "single", {"messages": messages}
    if roll < 0.85:
        turns = r.randint(2, 4)
        for turn in range(turns):
            user = text.paragraph(1, 1)
            messages.append({"role": "user", "content": ticket + user if turn == 0 else user})
            reply = text.paragraph(1, 2 if turn == turns - 1 else 1)
            messages.append({"role": "assistant", "content": reply})
        if r.random() < 0.3:
            messages[2 * r.randint(1, turns - 1)]["weight"] = 0
        return "multi", {"messages": messages}
    names = r.sample(sorted(TOOLS), k=r.choice((1, 1, 2)))
    called = names[:2] if r.random() < 0.25 else names[:1]
    messages.append({"role": "user", "content": ticket + text.paragraph(1, 2)})
    calls = []
    for name in called:
        call_id = "call_" + "".join(r.choices(ALNUM, k=24))
        arguments = json.dumps(text.arguments(name), ensure_ascii=False)
        calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
    messages.append({"role": "assistant", "tool_calls": calls})
    for call in calls:
        result = json.dumps(text.tool_result(), ensure_ascii=False)
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    messages.append({"role": "assistant", "content": text.paragraph(1, 2)})
    return "tools", {"messages": messages, "tools": [TOOLS[name] for name in names]}


def default_path(examples: int) -> Path:
    """``out/chat_200k.jsonl`` for 200,000 examples, ``out/chat_1234.jsonl`` otherwise."""
    label = f"{examples // 1000}k" if examples % 1000 == 0 else str(examples)
    return OUT_DIR / f"chat_{label}.jsonl"


def reusable(path: Path, params: dict[str, object]) -> bool:
    """Whether ``path`` was written by this generator with ``params`` and is intact."""
    try:
        recorded = json.loads(path.with_name(path.name + ".params.json").read_text("utf-8"))
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded == {**params, "size_bytes": size}


def generate(path: Path, examples: int, seed: int) -> dict[str, int]:
    """Write ``examples`` lines to ``path`` (atomically); return the count of each kind."""
    text = TextMaker(random.Random(seed))
    counts = {"single": 0, "multi": 0, "tools": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", buffering=1 << 20) as out:
        for index in range(examples):
            kind, example = make_example(index, text)
            counts[kind] += 1
            out.write(json.dumps(example, ensure_ascii=False))
            out.write("\n")
    partial.replace(path)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/out/...")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.examples < 10:
        parser.error("--examples must be at least 10 (the validator's minimum)")
    path: Path = args.out or default_path(args.examples)
    # The generator hashes itself: editing it invalidates files made by an older version.
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    params: dict[str, object] = {"generator": source, "examples": args.examples, "seed": args.seed}
    if reusable(path, params):
        size = path.stat().st_size
        print(f"reusing {path}: {args.examples:,} examples, {size / 1e6:.1f} MB")
        return 0
    started = time.perf_counter()
    counts = generate(path, args.examples, args.seed)
    size = path.stat().st_size
    sidecar = path.with_name(path.name + ".params.json")
    sidecar.write_text(json.dumps({**params, "size_bytes": size}) + "\n", encoding="utf-8")
    mix = ", ".join(f"{kind} {n / args.examples:.0%}" for kind, n in counts.items())
    seconds = time.perf_counter() - started
    print(f"wrote {path}: {args.examples:,} examples ({mix}), {size / 1e6:.1f} MB, {seconds:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
