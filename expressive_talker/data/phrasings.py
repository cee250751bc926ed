"""Everyday phrasings of each emotion, written for this project (issue 32): idioms, slang, emoji
with words, face actions in plain words and short feeling sentences, the way people type a
prompt rather than the way the synthetic descriptions (``descriptions.py``) put it.

The training text had emotion words and composed sentences only, so "over the moon" or "ugh,
gross" had nothing near them. This bank is an extra share of the text adapter's and stage 2's
training text (``phrasing_share`` in their configs). It is split once, deterministically, like
the descriptions (about one in five held out), so the held-out phrasings measure whether a
model reads wording of this kind it has not seen. None of the dev or check prompts
(``text/prompt_sets``), nor a distinctive three-word run of one, is in it
(tests/test_phrasings.py).
"""

from __future__ import annotations

import hashlib

from .descriptions import INTENSITY_CLAUSES

HELD_OUT_SHARE = 0.2

PHRASINGS: dict[str, tuple[str, ...]] = {
    "neutral": (
        # idioms and everyday phrases
        "same old same old", "nothing to write home about", "just another day at the office",
        "keeping a level head", "steady as she goes", "not fussed either way", "taking it in stride",
        "neither here nor there", "it is what it is", "going through the motions", "just the facts",
        "calm and collected", "no skin off my nose", "poker face on", "plain as day, no fuss",
        # slang
        "meh, whatever", "eh, it's fine", "no biggie", "all good", "chilling", "just vibing, nothing special",
        "nbd", "idk, sure",
        # emoji with words
        "😶 no comment", "🙂 sure thing", "😑 if you say so", "🆗 noted",
        # face actions
        "face at rest, lips loose", "eyes steady, brows level", "no expression at all",
        "flat mouth, relaxed forehead", "a blank stare", "mouth moves only to talk",
        "soft eyelids, still brows",
        # feeling sentences
        "I don't feel anything about it", "just stating the time of the meeting",
        "announcing the train platform", "reading a shopping list aloud", "giving directions to the station",
        "listing the ingredients", "I'm fine, thanks", "nothing much going on", "reporting the weather calmly",
        "explaining how the printer works", "a calm voice reading instructions",
    ),
    "angry": (
        # idioms
        "going ballistic", "flying off the handle", "fit to burst with rage", "hopping mad", "fuming at the ears",
        "at the end of my rope", "up in arms", "has a bone to pick", "blood boiling", "losing it completely",
        "hitting the roof", "ready to bite someone's head off", "got my back up", "on the warpath",
        "raising hell", "madder than a wet hen", "like a bull in a red rag", "my temper snapped",
        "spitting feathers", "had it up to here",
        # slang
        "livid beyond words", "ticked off", "rage mode", "I'm done with this", "are you kidding me right now",
        "absolutely raging", "salty and heated", "cheesed off", "seriously ticked",
        # emoji with words
        "😡 how dare you", "🤬 stop it", "💢 this again", "😤 unbelievable service",
        # face actions
        "teeth clenched, glaring", "scowling hard", "brows slammed down, lips tight", "nostrils flaring, eyes narrowed",
        "jaw set, eyes burning", "a hard glare and a tight mouth", "face red and tense",
        # feeling sentences
        "I'm so mad I could scream", "they broke my window and laughed", "someone keyed my car",
        "I told you a hundred times", "get out of my room", "you lied to me again", "I want to punch a wall",
        "how could you do this to me",
    ),
    "disgusted": (
        # idioms
        "turns my stomach", "ugh, sticky goo on my hand", "sick to my stomach", "can't stomach it",
        "leaves a bad taste in my mouth", "wouldn't touch it with a barge pole", "stinks to high heaven",
        "made my lunch come back up", "enough to put you off your food", "gives me the ick",
        "holding my nose at the stench", "wants to wash their hands of the slime",
        # slang
        "ew ew ew", "gross!", "so nasty", "ugh, disgusting", "bleh", "ick", "that's foul",
        "nasty, get it away", "eww, hair in my soup", "blegh, sour", "grim, so grim",
        # emoji with words
        "🤢 this smells", "🤮 the fridge", "🤢 mouldy bread", "😖 slimy",
        # face actions
        "nose scrunched, upper lip pulled up", "lip curled, nostrils pinched", "face screwed up at the smell",
        "tongue out, eyes squeezed", "nose crinkled, mouth twisted", "recoiling from the plate",
        "wrinkling the nose at the bin",
        # feeling sentences
        "there's a dead rat in the kitchen", "someone sneezed on my sandwich", "the toilet overflowed",
        "smelling spoiled fish", "the milk has gone off", "stepped in dog mess", "found a maggot in the apple",
        "the gym socks reek", "I can't look at that wound",
    ),
    "contempt": (
        # idioms
        "nose in the air", "looking down their nose", "wouldn't give them the time of day",
        "thinks they're all that", "beneath contempt", "not worth my breath", "sniffing at the cheap wine",
        "holier than thou", "scoffing at the amateurs", "full of themselves", "couldn't care less about you",
        "high and mighty", "sneering at the new guy",
        # slang
        "pfft, please", "as if", "good for you, I guess", "whatever you say, genius", "cute attempt", "imagine thinking that",
        "cry about it", "L + ratio", "sure, Jan", "bless your heart", "talk to the hand", "yawn, try harder",
        # emoji with words
        "🙄 yeah right", "😒 how original", "💅 not my problem", "🙄 amateurs",
        # face actions
        "mouth corner dimpled on one side", "a lopsided sneer", "smirking on one side, eyes half closed",
        "chin raised, mouth pulled to one side", "a cold half-smile", "a smug tight smile on the left",
        "looking at them sideways with a smirk",
        # feeling sentences
        "they think they're better than everyone", "I'm not impressed by you", "your opinion means nothing to me",
        "what a pathetic excuse", "you call that effort", "I expected nothing less from them",
        "that's adorable, in a sad way",
    ),
    "fearful": (
        # idioms
        "hiding under the covers", "heart in my mouth", "frozen with dread", "white as a sheet",
        "jumping at shadows", "hair standing on end", "blood ran cold", "dreading the knock at the door", "chills down my spine",
        "quaking in my boots", "heart pounding out of my chest", "jumpy as a cat", "a cold sweat",
        "afraid of my own shadow", "weak at the knees with fright", "petrified of the dark",
        # slang
        "teeth chattering with fear", "lowkey terrified", "nope nope nope", "spooked af", "shook up and trembling", "yikes, run",
        "panic mode", "heebie-jeebies",
        # emoji with words
        "😱 a shadow at the window", "😰 the exam results", "😨 spider on the wall", "🫣 don't make me look",
        # face actions
        "eyes huge, lips stretched back", "brows pinched up, eyes wide", "face pale, mouth trembling",
        "eyes darting, lips tight and pulled", "staring wide-eyed, frozen", "flinching away, mouth stretched",
        "whites of the eyes showing, brows raised and drawn",
        # feeling sentences
        "I heard footsteps behind me", "the plane is shaking", "what was that noise downstairs",
        "I think someone is following me", "please don't hurt me", "the brakes stopped working",
        "waiting for the biopsy results", "there is a snake in the tent", "the ice is cracking under me", "my hands won't stop shaking", "tiptoeing past the growling dog", "a knife at my throat", "something is scratching at the door", "stuck in the lift in the dark", "palms clammy with fright", "my stomach is in knots with dread", "on edge all night", "I'm so scared I can't breathe", "the lights just went out",
    ),
    "happy": (
        # idioms
        "dancing round the kitchen", "a grin a mile wide", "happy as a clam", "happy as Larry",
        "can't stop smiling", "pleased as punch", "in seventh heaven", "jumping for joy", "over the rainbow with joy",
        "having the time of my life", "like a kid in a candy store", "bursting with joy", "all smiles",
        "full of beans", "made my day", "happy camper", "couldn't be happier",
        # slang
        "yay!", "woohoo", "so stoked", "living my best life", "feeling great", "in a great mood",
        "vibes are immaculate", "yesss let's go", "hyped", "lol this is great", "hooray",
        # emoji with words
        "😄 good news", "🥳 party time", "😊 thank you so much", "🎉 I got the job",
        # face actions
        "big smile, cheeks up", "beaming from ear to ear", "eyes crinkled with laughter",
        "laughing, mouth wide", "a warm smile with sparkling eyes", "lips curling up into a smile",
        # feeling sentences
        "we're getting married!", "I passed my driving test", "my best friend is visiting",
        "it's my birthday", "the sun is out and I'm free", "I love this song",
        "grandma is coming home from hospital", "we got a puppy",
    ),
    "sad": (
        # idioms
        "down in the dumps", "heavy-hearted", "my heart aches", "crying my eyes out",
        "weeping quietly", "in the doldrums", "broken inside", "down and out", "on the verge of tears",
        "tears welling up", "a long face", "it broke my heart", "lost without them", "world falling apart",
        "low as can be",
        # slang
        "sad vibes", "big oof, I'm gutted", "not doing well at all", "feeling crappy", "so done, so sad", "I'm in my feels",
        "gutted", "sobbing into the pillow", "totally crushed", "rough day",
        # emoji with words
        "😭 my cat died", "😞 didn't get in", "💔 she left", "🥺 I miss home",
        # face actions
        "lower lip trembling, eyes wet", "lips pulled down, inner brows tilted up", "eyes red and puffy",
        "chin quivering", "a drooping face", "teary eyes and a frown", "head hanging, mouth sagging",
        # feeling sentences
        "my dog passed away", "I lost my job today", "nobody came to my party", "we buried him yesterday",
        "I miss you so much", "she didn't even say goodbye", "the funeral is tomorrow",
        "everything I tried failed", "I'll never see them again",
    ),
    "surprised": (
        # idioms
        "knocked for six", "bowled over", "caught flat-footed", "out of the blue", "talk about a plot twist",
        "blown away", "couldn't believe my eyes", "caught me completely unawares",
        "taken by storm", "out of left field", "left speechless", "stopped in my tracks", "well I never",
        "a turn-up for the books", "floored by the news",
        # slang
        "wait, what?!", "never in a million years", "omg", "whoa", "get out of here, really?", "say what now", "holy cow",
        "what the heck", "are you serious?!", "I'm shook", "wow, just wow",
        # emoji with words
        "😮 you did what", "😯 really?", "🤯 that twist", "😳 since when",
        # face actions
        "eyebrows shot up, mouth open", "eyes like saucers", "jaw dropped, eyes round",
        "gasping with raised brows", "forehead lines, mouth a little o", "mouth falling open",
        # feeling sentences
        "I had no idea you were coming", "they threw me a surprise party", "I won the lottery?",
        "you're pregnant?", "the door opened by itself", "I never expected that ending",
        "she's back from abroad already", "it was there all along",
    ),
}


def _split(items: tuple[str, ...], split: str) -> list[str]:
    """One split of an emotion's phrasings, in the bank's order. Exactly a fifth (rounded) is held
    out, those whose hash is smallest: a per-item coin, as descriptions.py uses, held out only 3
    of one emotion's 54."""
    if split == "all":
        return list(items)
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', not {split!r}")
    ranked = sorted(items, key=lambda t: hashlib.sha1(("phrase:" + t).encode()).hexdigest())
    held = set(ranked[: round(HELD_OUT_SHARE * len(items))])
    return [t for t in items if (t in held) == (split == "heldout")]


def _read(text: str) -> str:
    """A phrasing as the prompt path hands it to the encoder (emoji read as words)."""
    from ..text.prompt import normalize_prompt

    return normalize_prompt(text)[0]


def phrasings(emotion: str, split: str = "train", as_read: bool = True) -> list[str]:
    """One emotion's phrasings in a split ('train', 'heldout' or 'all'); as the encoder reads
    them (emoji as their names) unless ``as_read`` is False."""
    items = _split(PHRASINGS[emotion], split)
    return [_read(t) for t in items] if as_read else items


def with_intensity(text: str, emotion: str, level: int, rng) -> str:
    """A phrasing for a clip at a MEAD level: an intensity clause added as for sentences
    (level 2 is sometimes bare, so the bare phrasing maps to the middle level)."""
    if emotion == "neutral" or not level:
        return text
    return f"{text} {rng.choice(INTENSITY_CLAUSES[level])}".strip()


def labelled_phrasings(split: str = "train") -> list[tuple[str, str, int]]:
    """Every phrasing of a split with each intensity clause, as (text, emotion, MEAD level),
    the form of ``descriptions.labelled_descriptions``."""
    out = []
    for emotion in PHRASINGS:
        for text in phrasings(emotion, split):
            for level in (0,) if emotion == "neutral" else (1, 2, 3):
                clauses = sorted(set(INTENSITY_CLAUSES[level])) if level else [""]
                out += [(f"{text} {clause}".strip(), emotion, level) for clause in clauses]
    return out
