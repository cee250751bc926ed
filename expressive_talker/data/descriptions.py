"""Text descriptions of expressions (the paper's section 4.2), written for this project.

Per emotion: word-type descriptions (synonyms), sentence-type descriptions of two kinds (what the
face does, and what the person feels), intensity modifiers per MEAD level, and action-level
descriptions mapped to FACS action-unit combinations beyond the eight classes. Every list is
split once, deterministically, into training and held-out descriptions (about one in five held
out): held-out text never reaches training, so an evaluation can ask for an expression in words
the model has not seen.
"""

from __future__ import annotations

import hashlib

import numpy as np

WORDS: dict[str, tuple[str, ...]] = {
    "neutral": ("neutral", "calm", "expressionless", "blank", "composed", "relaxed", "impassive", "deadpan", "unemotional", "straight-faced", "placid", "even-tempered", "poker-faced", "indifferent", "unmoved", "serene", "matter-of-fact"),
    "angry": ("angry", "furious", "irritated", "enraged", "mad", "livid", "annoyed", "irate", "cross", "fuming", "indignant", "hostile", "outraged", "seething", "exasperated", "resentful", "wrathful"),
    "disgusted": ("disgusted", "revolted", "repulsed", "grossed out", "nauseated", "sickened", "appalled", "repelled", "queasy", "offended", "squeamish", "put off", "turned off", "horrified by the smell", "loathing", "averse"),
    "contempt": ("contemptuous", "scornful", "disdainful", "sneering", "smug", "condescending", "dismissive", "derisive", "haughty", "arrogant", "mocking", "superior", "patronizing", "snide", "supercilious", "sarcastic"),
    "fearful": ("afraid", "scared", "frightened", "terrified", "anxious", "panicked", "nervous", "alarmed", "fearful", "petrified", "horrified", "uneasy", "worried", "spooked", "apprehensive", "jittery", "timid"),
    "happy": ("happy", "joyful", "cheerful", "delighted", "glad", "pleased", "content", "elated", "merry", "jolly", "thrilled", "amused", "beaming", "overjoyed", "gleeful", "upbeat", "lighthearted"),
    "sad": ("sad", "unhappy", "sorrowful", "miserable", "depressed", "gloomy", "heartbroken", "downcast", "melancholy", "dejected", "glum", "despondent", "grieving", "mournful", "forlorn", "disheartened", "tearful"),
    "surprised": ("surprised", "astonished", "amazed", "shocked", "startled", "stunned", "astounded", "taken aback", "dumbfounded", "flabbergasted", "bewildered", "awestruck", "speechless", "staggered", "caught off guard", "thunderstruck"),
}

FACE_SENTENCES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "The face is at rest, with level brows and relaxed lips.",
        "Nothing moves on the face except the mouth as it talks.",
        "The eyes are open normally and the brows stay still.",
        "The mouth corners neither rise nor fall.",
        "A plain face with no visible expression.",
        "The forehead is smooth and the cheeks are loose.",
        "The speaker keeps a straight face throughout.",
        "The jaw and lips move only to form the words.",
        "The gaze is steady and the eyelids are relaxed.",
        "An even, unreadable face without any tension.",
        "The brows sit in their natural position and the lips are soft.",
    ),
    "angry": (
        "The brows are pulled down and together into a hard frown.",
        "The eyes glare and the lids are tightened.",
        "The lips are pressed thin and tense.",
        "A deep crease forms between the lowered brows.",
        "The face is tense, with a fixed stare and a tight mouth.",
        "The nostrils flare and the jaw looks clenched.",
        "The speaker scowls while talking.",
        "The upper eyelids are raised in a piercing glare under knitted brows.",
        "The mouth is held firm and narrow, the lips tightened.",
        "The brow is furrowed and the eyes narrow in a threatening look.",
        "The whole face hardens into a frown.",
    ),
    "disgusted": (
        "The nose wrinkles and the upper lip curls up.",
        "The face scrunches up as if something smells terrible.",
        "The upper lip is raised and the cheeks push upward.",
        "The brows lower and the nose crinkles in distaste.",
        "The mouth corners pull down while the upper lip lifts.",
        "The lower lip drops a little and the nose is wrinkled.",
        "A grimace of distaste, with a wrinkled nose.",
        "The speaker's face screws up in revulsion.",
        "Lines appear along the sides of the nose as the lip rises.",
        "The face twists as if tasting something rotten.",
        "The eyes narrow slightly above a raised, curled upper lip.",
    ),
    "contempt": (
        "One corner of the mouth is pulled up and tightened.",
        "A one-sided smirk appears on the right side of the mouth.",
        "The lip corner on one side tucks into a dimple.",
        "The face shows a crooked, lopsided half-smile.",
        "The mouth is asymmetric, tight on one side only.",
        "A slight sneer lifts one side of the mouth.",
        "The eyes narrow a little above a smug, uneven mouth.",
        "The speaker smirks with one cheek.",
        "One side of the lips is drawn back while the other stays still.",
        "A small, unbalanced pull of the mouth corner.",
        "The face wears a superior, sideways smirk.",
    ),
    "fearful": (
        "The eyes are wide open and the brows are raised and drawn together.",
        "The lips are stretched sideways and tense.",
        "The upper lids are lifted, showing more of the eyes.",
        "The brows rise and knit in the middle, wrinkling the forehead.",
        "The mouth is pulled wide, with the corners stretched back.",
        "The face looks tense, with staring eyes and a tight mouth.",
        "The jaw drops slightly and the lips pull toward the ears.",
        "The forehead wrinkles in the centre as the inner brows lift.",
        "The eyes are wide and alert, the face frozen in alarm.",
        "The speaker's lips tremble and stretch while the eyes widen.",
        "Raised, pinched brows above staring eyes.",
    ),
    "happy": (
        "The mouth corners rise into a broad smile.",
        "The cheeks lift and the eyes crinkle at the corners.",
        "A warm smile spreads across the face.",
        "The lips are pulled up and back into a grin.",
        "Crow's feet appear beside the eyes as the cheeks rise.",
        "The speaker smiles while talking.",
        "The lower eyelids push up from the raised cheeks.",
        "The face is bright, with a wide, upturned mouth.",
        "A genuine smile that reaches the eyes.",
        "The smile widens the mouth on every word.",
        "The corners of the lips curve upward and the eyes narrow slightly.",
    ),
    "sad": (
        "The inner ends of the brows rise and the mouth corners droop.",
        "The lips turn down at the corners and the chin puckers.",
        "The eyes look heavy under slanted, raised inner brows.",
        "The mouth sags and the lower lip pushes up slightly.",
        "The brows angle upward in the middle of the forehead.",
        "A downturned mouth and drooping eyelids.",
        "The speaker's face looks as if about to cry.",
        "The chin wrinkles and the lip corners pull down.",
        "The face is slack and downcast.",
        "The forehead creases above a trembling, down-turned mouth.",
        "The eyes look moist and the mouth is pulled down.",
    ),
    "surprised": (
        "The brows shoot up and the eyes open wide.",
        "The jaw drops and the mouth falls open.",
        "The whole forehead wrinkles as the brows lift high.",
        "The eyes are round and the lids are raised.",
        "The mouth hangs open below arched brows.",
        "The face opens up, with high brows and a dropped jaw.",
        "Horizontal lines cross the forehead above wide eyes.",
        "The speaker's eyebrows fly up in astonishment.",
        "The eyes widen and the jaw loosens.",
        "Raised brows, open eyes and parted lips.",
        "The upper eyelids pull back, showing the whites of the eyes.",
    ),
}

FEELING_SENTENCES: dict[str, tuple[str, ...]] = {
    "neutral": (
        "The person feels nothing in particular.",
        "They are calm and simply stating facts.",
        "The speaker is unbothered and even-tempered.",
        "There is no strong emotion behind these words.",
        "They are talking in a matter-of-fact mood.",
        "The person feels relaxed and at ease.",
        "They seem indifferent to what they are saying.",
        "The speaker is composed and emotionally flat.",
        "They are neither pleased nor upset.",
        "A quiet, ordinary state of mind.",
        "The person is focused on getting the information across.",
    ),
    "angry": (
        "The person is furious about what happened.",
        "They are losing their temper.",
        "The speaker feels wronged and wants to lash out.",
        "Rage is building up inside them.",
        "They are fed up and deeply annoyed.",
        "The person is barely keeping their anger in check.",
        "They feel hostile toward whoever they are talking to.",
        "Frustration has boiled over into anger.",
        "The speaker is outraged by the situation.",
        "They are irritated and impatient.",
        "The person is seething with resentment.",
    ),
    "disgusted": (
        "The person finds this revolting.",
        "They feel sick at the very thought of it.",
        "The speaker is repelled by what they see.",
        "Something about this turns their stomach.",
        "They want to get away from something gross.",
        "The person is deeply put off.",
        "They find the idea distasteful and offensive.",
        "A wave of nausea comes over the speaker.",
        "They feel an urge to spit something out.",
        "The person is appalled and repulsed.",
        "They can hardly stand to talk about it.",
    ),
    "contempt": (
        "The person looks down on whoever they are addressing.",
        "They feel superior and unimpressed.",
        "The speaker thinks this is beneath them.",
        "They are scornful of the whole idea.",
        "The person feels smug and dismissive.",
        "They do not take the other person seriously.",
        "The speaker is quietly mocking someone.",
        "They feel disdain and a little amusement at someone else's expense.",
        "The person considers the matter pathetic.",
        "They are condescending and arrogant.",
        "Nothing said here deserves their respect, they feel.",
    ),
    "fearful": (
        "The person is scared of what might happen.",
        "They feel threatened and want to escape.",
        "The speaker is terrified.",
        "Panic is rising inside them.",
        "They are nervous and on edge.",
        "The person dreads what comes next.",
        "They feel a sudden jolt of alarm.",
        "The speaker is anxious and trembling.",
        "They sense danger close by.",
        "The person is frightened and unsure whether they are safe.",
        "Worry grips them as they speak.",
    ),
    "happy": (
        "The person is delighted and in a great mood.",
        "They are glad to share good news.",
        "The speaker feels cheerful and content.",
        "Joy is bubbling up inside them.",
        "They are enjoying every moment of this.",
        "The person is amused and lighthearted.",
        "They feel thrilled about what happened.",
        "The speaker is warm and friendly.",
        "They are pleased with how things turned out.",
        "The person is full of happiness.",
        "They feel on top of the world.",
    ),
    "sad": (
        "The person is heartbroken.",
        "They feel lonely and downhearted.",
        "The speaker is grieving a loss.",
        "Sorrow weighs heavily on them.",
        "They are disappointed and low.",
        "The person is close to tears.",
        "They feel hopeless about the situation.",
        "The speaker is gloomy and withdrawn.",
        "They miss something dearly.",
        "The person is quietly unhappy.",
        "A deep melancholy has settled over them.",
    ),
    "surprised": (
        "The person did not expect this at all.",
        "They are amazed by what they just heard.",
        "The speaker is caught completely off guard.",
        "They can hardly believe it.",
        "The news has stunned them.",
        "The person is astonished.",
        "They are startled by something sudden.",
        "The speaker is taken aback and bewildered.",
        "They feel a jolt of amazement.",
        "The person is shocked into a moment of disbelief.",
        "Something unexpected has just happened to them.",
    ),
}

# MEAD level -> modifiers placed before a word ("slightly angry"); level 2 may also be bare.
INTENSITY_MODIFIERS: dict[int, tuple[str, ...]] = {
    1: ("slightly", "a little", "a bit", "mildly", "faintly", "barely hiding being", "somewhat", "a touch", "subtly", "a hint"),
    2: ("", "", "quite", "fairly", "clearly", "moderately", "rather", "noticeably", "visibly"),
    3: ("very", "extremely", "intensely", "deeply", "utterly", "overwhelmingly", "incredibly", "completely", "terribly", "absolutely"),
}
# Sentence-type descriptions get an intensity clause instead.
INTENSITY_CLAUSES: dict[int, tuple[str, ...]] = {
    1: ("Only a subtle trace of it shows.", "It is slight and held back.", "The feeling is faint."),
    2: ("It shows clearly.", "The feeling is plain to see.", ""),
    3: ("It is extreme and unmistakable.", "The feeling is overwhelming.", "It is as strong as it gets."),
}

# Action-level descriptions: AU combinations (face/expressions.py names, strengths) and phrasings.
ACTIONS: dict[str, tuple[dict[str, float], tuple[str, ...]]] = {
    "raised eyebrows": ({"AU1 inner brow raiser": 0.8, "AU2 outer brow raiser": 0.8}, ("raised eyebrows", "eyebrows lifted high", "brows up", "with eyebrows raised", "arched brows")),
    "furrowed brow": ({"AU4 brow lowerer": 0.8}, ("furrowed brow", "knitted eyebrows", "frowning brows", "brows drawn together", "a creased forehead")),
    "squinting": ({"AU6 cheek raiser": 0.4, "AU7 lid tightener": 0.8}, ("squinting", "narrowed eyes", "eyes squeezed to slits", "peering with tight eyelids", "squinting eyes")),
    "wide-eyed": ({"AU5 upper lid raiser": 0.9, "AU1 inner brow raiser": 0.3, "AU2 outer brow raiser": 0.3}, ("wide-eyed", "eyes wide open", "staring with big eyes", "saucer eyes", "eyes open as wide as possible")),
    "pursed lips": ({"AU18 lip pucker": 0.6, "AU23 lip tightener": 0.5}, ("pursed lips", "lips pursed together", "puckered lips", "lips pushed into a pout", "tightly pursed mouth")),
    "lopsided smirk": ({"AU12R lip corner puller, right only": 0.7, "AU14R dimpler, right only": 0.5}, ("lopsided smirk", "half smile on one side", "crooked grin", "one-sided smirk", "smirking with the corner of the mouth")),
    "pressed lips": ({"AU24 lip pressor": 0.9, "AU17 chin raiser": 0.3}, ("pressed lips", "lips pressed tightly", "tight-lipped", "mouth clamped shut between words", "lips squeezed together")),
    "grin": ({"AU6 cheek raiser": 0.8, "AU12 lip corner puller": 1.0, "AU25 lips part": 0.4}, ("big grin", "grinning from ear to ear", "toothy grin", "broad grin", "wide beaming smile")),
    "pout": ({"AU15 lip corner depressor": 0.6, "AU17 chin raiser": 0.7, "AU18 lip pucker": 0.3}, ("pouting", "sulky pout", "pouty lips", "bottom lip pushed out", "sulking mouth")),
    "sneer": ({"AU10R upper lip raiser, right only": 0.8, "AU9 nose wrinkler": 0.3}, ("sneer", "curled upper lip", "snarling lip on one side", "sneering mouth", "lip lifted in a snarl")),
    "wrinkled nose": ({"AU9 nose wrinkler": 0.9}, ("wrinkled nose", "scrunched-up nose", "crinkled nose", "nose wrinkled up", "scrunching the nose")),
    "one eyebrow raised": ({"AU2R outer brow raiser, right only": 0.9, "AU4L brow lowerer, left only": 0.3}, ("one eyebrow raised", "a single raised brow", "skeptical arched eyebrow", "quizzical eyebrow", "raising one brow")),
    "puffed cheeks": ({"AU13 cheek puffer": 0.8}, ("puffed cheeks", "cheeks blown out", "inflated cheeks", "cheeks full of air", "puffing out the cheeks")),
    "lip stretch": ({"AU20 lip stretcher": 0.8}, ("lips stretched wide", "grimacing", "a tense grimace", "mouth pulled sideways", "teeth-gritting grimace")),
    "sleepy eyes": ({"AU43 eyes closed": 0.5, "AU64 eyes down": 0.3}, ("sleepy eyes", "heavy eyelids", "half-closed eyes", "drowsy look", "droopy eyelids")),
}


def _held_out(text: str, share: float = 0.2) -> bool:
    return int(hashlib.sha1(("desc:" + text).encode()).hexdigest()[:8], 16) / 16**8 < share


def _split(items, split: str) -> list[str]:
    """The items of one split: 'train', 'heldout' or 'all'."""
    if split == "all":
        return list(items)
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', not {split!r}")
    keep = [t for t in items if _held_out(t) == (split == "heldout")]
    return keep or list(items[:1])  # never empty: a list with nothing held out keeps its first


def words(emotion: str, split: str = "train") -> list[str]:
    return _split(WORDS[emotion], split)


def sentences(emotion: str, split: str = "train", kind: str = "both") -> list[str]:
    """Sentence-type descriptions: kind 'face', 'feeling' or 'both'."""
    pools = {"face": FACE_SENTENCES[emotion], "feeling": FEELING_SENTENCES[emotion]}
    items = pools[kind] if kind in pools else pools["face"] + pools["feeling"]
    return _split(items, split)


def action_phrases(action: str, split: str = "train") -> list[str]:
    return _split(ACTIONS[action][1], split)


def describe(emotion: str, level: int, rng: np.random.Generator, split: str = "train", action: str | None = None) -> str:
    """One random description of a clip's expression (word-type half of the time)."""
    if emotion == "action" or action is not None:
        return str(rng.choice(action_phrases(action, split)))
    if rng.random() < 0.5:
        word = str(rng.choice(words(emotion, split)))
        if emotion == "neutral" or level == 0:
            return word
        mod = str(rng.choice(INTENSITY_MODIFIERS[level]))
        return f"{mod} {word}".strip()
    text = str(rng.choice(sentences(emotion, split)))
    if emotion != "neutral" and level:
        clause = str(rng.choice(INTENSITY_CLAUSES[level]))
        text = f"{text} {clause}".strip()
    return text


def wordings(split: str = "train") -> list[str]:
    """The distinct wordings of a split's descriptions: emotion words, sentences and action
    phrases, without intensity modifiers or clauses (sorted)."""
    out = {w for e in WORDS for w in words(e, split)} | {s for e in WORDS for s in sentences(e, split)}
    return sorted(out | {p for a in ACTIONS for p in action_phrases(a, split)})


def labelled_descriptions(split: str = "train") -> list[tuple[str, str, int]]:
    """Every description ``describe`` can give in a split, with what it describes:
    (text, emotion or action name, MEAD level; 0 for neutral and actions)."""
    out = []
    for emotion in WORDS:
        for level in (0,) if emotion == "neutral" else (1, 2, 3):
            for word in words(emotion, split):
                mods = sorted(set(INTENSITY_MODIFIERS[level])) if level else [""]
                out += [(f"{mod} {word}".strip(), emotion, level) for mod in mods]
            for sentence in sentences(emotion, split):
                clauses = sorted(set(INTENSITY_CLAUSES[level])) if level else [""]
                out += [(f"{sentence} {clause}".strip(), emotion, level) for clause in clauses]
    for action in ACTIONS:
        out += [(phrase, action, 0) for phrase in action_phrases(action, split)]
    return out
