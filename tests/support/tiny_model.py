"""Build a tiny MarianMT model at test time: random weights, a real SentencePiece
tokenizer, saved with `save_pretrained` so it loads through the users' code path.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

CORPUS = [
    "Hello, world",
    "How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Translation runs on local neural models.",
    "Good morning, dear friends!",
    "Привет, мир",
    "Как дела сегодня?",
    "Съешь же ещё этих мягких французских булок.",
    "Перевод выполняется локальными нейросетями.",
    "Доброе утро, дорогие друзья!",
    "Guten Morgen",
    "Bonjour tout le monde",
    "1234567890 @user #tag https://example.org",
]


TINY_DIMS: dict[str, float] = {
    "d_model": 32,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "init_std": 0.6,  # large enough that different inputs give different outputs
}
# The real Helsinki-NLP/opus-mt-en-ru sizes, for benchmarks.
OPUS_DIMS: dict[str, float] = {
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "vocab_size": 62518,
    "init_std": 0.02,
}


def build_tiny_marian(
    folder: Path, seed: int = 0, max_length: int = 16, dims: dict[str, float] | None = None
) -> Path:
    """Write a tiny Marian model and tokenizer to `folder` and return it.

    EOS (and tokens that decode to nothing) are made impossible, so every output is
    exactly `max_length` tokens long: non-empty and deterministic, whatever the weights.
    `dims` overrides the model's sizes (`OPUS_DIMS` gives an opus-mt-sized model; its
    vocabulary is padded past the small real tokenizer's).
    """
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    _train_spm(folder, "spm")
    shutil.copy(folder / "spm.model", folder / "source.spm")
    shutil.copy(folder / "spm.model", folder / "target.spm")
    processor = spm.SentencePieceProcessor(model_file=str(folder / "source.spm"))
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in (processor.id_to_piece(i) for i in range(processor.get_piece_size())):
        vocab.setdefault(piece, len(vocab))
    vocab["<pad>"] = len(vocab)
    real = len(vocab)
    # Benchmark sizes: filler entries make the vocabulary as large as the model's (less
    # the one row Marian keeps beyond it), as converters (CTranslate2) require; the
    # tokenizer never produces them.
    for i in range(real, int((dims or {}).get("vocab_size", 0)) - 1):
        vocab[f"<filler{i}>"] = i
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(folder / "source.spm"),
        target_spm=str(folder / "target.spm"),
        vocab=str(folder / "vocab.json"),
    )
    tokenizer.save_pretrained(folder)

    sizes = {**TINY_DIMS, **(dims or {})}
    sizes["vocab_size"] = max(int(sizes.get("vocab_size", 0)), len(vocab))
    config = MarianConfig(
        **{k: (v if k == "init_std" else int(v)) for k, v in sizes.items()},
        max_position_embeddings=512,
        pad_token_id=vocab["<pad>"],
        eos_token_id=0,
        decoder_start_token_id=vocab["<pad>"],
        forced_eos_token_id=0,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    with torch.no_grad():
        # Never emit </s>, <unk> or <pad>: outputs are never empty.
        model.final_logits_bias[0, [0, 1, vocab["<pad>"]]] = -1e4
        # A lone "▁" decodes to nothing either.
        if "▁" in vocab:
            model.final_logits_bias[0, vocab["▁"]] = -1e4
        # Padded vocabularies (benchmark sizes): ids past the tokenizer never come out.
        model.final_logits_bias[0, real:] = -1e4
    model.generation_config.max_length = max_length
    model.save_pretrained(folder)
    for scratch in ("spm.model", "spm.vocab"):
        (folder / scratch).unlink()
    return folder


def build_tiny_m2m100(folder: Path, seed: int = 0, max_length: int = 16) -> Path:
    """Write a tiny multilingual M2M100 model (languages of fairseq's `wmt21` list:
    en, ha, is, ja, cs, ru, zh, de) with a real SentencePiece tokenizer.
    """
    import sentencepiece as spm
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    _train_spm(folder, "sentencepiece.bpe")
    processor = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.bpe.model"))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece in (processor.id_to_piece(i) for i in range(processor.get_piece_size())):
        vocab.setdefault(piece, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(folder / "vocab.json"),
        spm_file=str(folder / "sentencepiece.bpe.model"),
        language_codes="wmt21",
    )
    tokenizer.save_pretrained(folder)
    config = M2M100Config(
        vocab_size=len(tokenizer) + 16,  # language and made-up tokens sit past the vocab
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=512,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        init_std=0.6,
    )
    torch.manual_seed(seed)
    model = M2M100ForConditionalGeneration(config)
    # min_length = max_length: </s> is suppressed, outputs have a fixed length.
    model.generation_config.max_length = max_length
    model.generation_config.min_length = max_length
    model.save_pretrained(folder)
    return folder


def _train_spm(folder: Path, prefix: str) -> None:
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 20), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / prefix),
        vocab_size=150,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        pad_id=-1,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
    )
    corpus.unlink()


def reference_translate(
    folder: Path, texts: list[str], num_beams: int, engine: str = "auto"
) -> list[str]:
    """What the model produces, computed with the plain libraries (not our engine), one
    text at a time on one thread (as the test workers run: TORCH_THREADS=1). The model is
    loaded once per folder version, and each text's output is kept for the next caller.

    `engine` is the deployment's ENGINE: with `auto` (the default) or `ctranslate2`, the
    Marian model runs as CTranslate2 runs it on a CPU, converted and quantized to int8 by
    CTranslate2's own converter; with `transformers`, through `generate`.
    """
    version = _version(folder)
    if engine in ("auto", "ctranslate2"):
        return [_ct2_reference(version, text, num_beams) for text in texts]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # beside busy workers, more threads only wait on each other
    try:
        return [_reference(version, text, num_beams) for text in texts]
    finally:
        torch.set_num_threads(threads)


def _version(folder: Path) -> tuple[str, tuple[tuple[str, int], ...]]:
    """A folder and its files' times: a model rebuilt in place is loaded again."""
    files = sorted(p for p in Path(folder).iterdir() if p.is_file())
    return str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in files)


@functools.cache
def _reference(version: tuple[str, tuple[tuple[str, int], ...]], text: str, beams: int) -> str:
    import torch

    tokenizer, model = _loaded(version)
    with torch.inference_mode():
        ids = model.generate(**tokenizer([text], return_tensors="pt"), num_beams=beams)
    return str(tokenizer.decode(ids[0], skip_special_tokens=True).strip())


@functools.lru_cache(maxsize=8)
def _loaded(version: tuple[str, tuple[tuple[str, int], ...]]) -> tuple[Any, Any]:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = version[0]
    return AutoTokenizer.from_pretrained(folder), AutoModelForSeq2SeqLM.from_pretrained(
        folder
    ).eval()


@functools.cache
def _ct2_reference(version: tuple[str, tuple[tuple[str, int], ...]], text: str, beams: int) -> str:
    tokenizer, translator, longest = _ct2_loaded(version)
    ids = tokenizer(text, truncation=True, max_length=512).input_ids  # Marian's positions
    tokens = tokenizer.convert_ids_to_tokens(ids)
    [result] = translator.translate_batch([tokens], beam_size=beams, max_decoding_length=longest)
    ids = tokenizer.convert_tokens_to_ids(result.hypotheses[0])
    return str(tokenizer.decode(ids, skip_special_tokens=True).strip())


@functools.lru_cache(maxsize=8)
def _ct2_loaded(version: tuple[str, tuple[tuple[str, int], ...]]) -> tuple[Any, Any, int]:
    import tempfile

    import ctranslate2
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer, GenerationConfig

    folder = version[0]
    out = Path(tempfile.mkdtemp(prefix="ct2-reference-")) / "model"
    TransformersConverter(folder).convert(str(out), quantization="int8")
    translator = ctranslate2.Translator(str(out), "cpu", compute_type="int8", intra_threads=1)
    generation = GenerationConfig.from_pretrained(folder)
    # generate's max_length counts the decoder start token and the forced </s>.
    longest = int(generation.max_length) - 1 - int(generation.forced_eos_token_id is not None)
    return AutoTokenizer.from_pretrained(folder), translator, longest
