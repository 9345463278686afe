#!/usr/bin/env python3
"""Tokenizer folders as transformers' AutoTokenizer reads them (what a model folder gives a
pipeline), beyond tokenizer.json alone: tokenizer_config.json's casing settings over a
BertNormalizer, added tokens from added_tokens.json / added_tokens_decoder /
additional_special_tokens, special tokens written as objects with lstrip/rstrip/single_word,
and vocab.txt line ends. Writes Tests/ElectraTokenizersTests/Fixtures/folders/: one folder per
case (its files) and expected.json (ids, offsets, tokens of each text; len(tokenizer)).

  python scripts/reference/make_tokenizer_folder_fixtures.py   # transformers 4.57, tokenizers 0.22
"""
import json
import os
import shutil

import tokenizers
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
from transformers import AutoTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "../../Tests/ElectraTokenizersTests/Fixtures/folders")
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "Hello", "world", "World", "cafe", "café", "a", "b", "##b", ".", "!", "[", "]", "foo", "e1", "E1"]
TEXTS = ["Hello World", "hello café . world", "a[MASK]b hello [MASK] world", "hello [foo] world [E1]", "HELLO [e1]b", "café!"]


def tokenizer_json(folder, normalizer, sequence=False, cleanup=True):
    t = Tokenizer(models.WordPiece({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    t.normalizer = normalizers.Sequence([normalizer]) if sequence else normalizer
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    t.decoder = decoders.WordPiece(cleanup=cleanup)
    t.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    t.save(os.path.join(folder, "tokenizer.json"))


def write(folder, name, value):
    with open(os.path.join(folder, name), "w", encoding="utf-8", newline="") as f:
        f.write(value if isinstance(value, str) else json.dumps(value, indent=1))


def vocab(folder, sep="\n"):
    write(folder, "vocab.txt", sep.join(WORDS) + sep)


def special(content, **flags):
    return {"content": content, "lstrip": False, "rstrip": False, "single_word": False, "normalized": False, **flags}


CASES = {
    # tokenizer.json route: tokenizer_config.json's casing (defaults included) over BertNormalizer
    "json-cased-no-config": lambda d: tokenizer_json(d, normalizers.BertNormalizer(lowercase=False)),
    "json-cased-config-cased": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=False)),
                                          write(d, "tokenizer_config.json", {"do_lower_case": False})),
    "json-uncased-config-cased": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=True)),
                                            write(d, "tokenizer_config.json", {"do_lower_case": False})),
    "json-sequence-cased-no-config": lambda d: tokenizer_json(d, normalizers.BertNormalizer(lowercase=False), sequence=True),
    "json-cased-generic-class": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=False)),
                                           write(d, "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast"})),
    "json-cased-bert-class": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=False)),
                                        write(d, "tokenizer_config.json", {"tokenizer_class": "BertTokenizer"})),
    "json-config-keeps-accents": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=True)),
                                            write(d, "tokenizer_config.json", {"strip_accents": False})),
    "json-config-mask-not-in-json": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=True)),
                                               write(d, "tokenizer_config.json", {"mask_token": "[foo]"})),
    # vocab.txt route: added tokens from the config files, special tokens' flags, line ends
    "vocab-added-tokens-json": lambda d: (vocab(d), write(d, "added_tokens.json", {"[E1]": len(WORDS), "[foo]": len(WORDS) + 1})),
    "vocab-added-tokens-decoder": lambda d: (vocab(d), write(d, "tokenizer_config.json", {
        "do_lower_case": True,
        "added_tokens_decoder": {str(i): special(w, special=True) for i, w in enumerate(WORDS[:5])} | {
            str(len(WORDS)): special("[E1]", special=False, normalized=False, single_word=True),
            str(len(WORDS) + 1): special("[foo]", special=True, lstrip=True, rstrip=True)}})),
    "vocab-additional-special": lambda d: (vocab(d), write(d, "special_tokens_map.json", {"additional_special_tokens": ["[foo]", "e1"]})),
    "vocab-mask-object-flags": lambda d: (vocab(d), write(d, "special_tokens_map.json", {"mask_token": special("[MASK]", lstrip=True, single_word=True)})),
    "vocab-lone-cr": lambda d: vocab(d, sep="\r"),
    # decoding: the converted vocab.txt decoder always cleans up; the config's flag adds a cleanup
    "vocab-cleanup-false": lambda d: (vocab(d), write(d, "tokenizer_config.json", {"clean_up_tokenization_spaces": False})),
    "json-no-cleanup-config-true": lambda d: (tokenizer_json(d, normalizers.BertNormalizer(lowercase=True), cleanup=False),
                                              write(d, "tokenizer_config.json", {"clean_up_tokenization_spaces": True})),
    "json-no-cleanup": lambda d: tokenizer_json(d, normalizers.BertNormalizer(lowercase=True), cleanup=False),
}


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    expected = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "texts": TEXTS, "cases": {}}
    for name, make in CASES.items():
        d = os.path.join(ROOT, name)
        os.makedirs(d)
        make(d)
        write(d, "config.json", {"model_type": "bert" if name == "json-cased-bert-class" else "roberta" if name == "json-cased-generic-class" else "electra",
                                 "vocab_size": len(WORDS)})
        tok = AutoTokenizer.from_pretrained(d)
        rows = []
        for text in TEXTS:
            e = tok(text, return_offsets_mapping=True)
            rows.append({"ids": e["input_ids"], "offsets": [list(o) for o in e["offset_mapping"]],
                         "decoded": tok.decode(e["input_ids"], skip_special_tokens=True)})
        expected["cases"][name] = {"class": type(tok).__name__, "len": len(tok), "encodings": rows}
        print(name, type(tok).__name__, len(tok), [r["ids"] for r in rows[:4]])
    write(ROOT, "expected.json", expected)


if __name__ == "__main__":
    main()
