"""CTranslate2 engine: the models `TransformersTranslator` runs, converted once.

A Hugging Face model (hub id or local folder) is converted and quantized on first use;
the copy, with its tokenizer and generation config, is kept under `<cache_dir>/ct2/` and
reused by later loads in any process. Heavy libraries are imported only to load a model.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks.engine.base import EngineOptions, LanguageTokens
from tasks.engine.tokens import TokenCodec, load_codec, read_generation
from tasks.errors import ModelUnavailable, UnsupportedPair
from tasks.model_paths import cached_first, looks_local, missing_folder

log = logging.getLogger(__name__)

# What transformers assumes when a model states no max_length of its own.
DEFAULT_MAX_LENGTH = 512
# Marian's position limit; longer input is cut, as TransformersTranslator does.
MAX_INPUT = 512
_CONVERTING = threading.Lock()


MAX_BATCH = 64


class CTranslate2Translator:
    """A seq2seq model run by CTranslate2: opus-mt pairs, NLLB-200, M2M100."""

    def __init__(
        self,
        model_id: str,
        translator: Any,
        codec: TokenCodec,
        generation: dict[str, Any],
        num_beams: int,
    ) -> None:
        self.model_id = model_id
        self.translator = translator
        self.codec = codec
        self.num_beams = num_beams
        self.max_decoding_length, self.min_decoding_length = decoding_limits(generation)
        # Batches CTranslate2 runs at once (inter_threads): a call is split among them.
        self.parallel = 1
        # src_lang is tokenizer state; one batch at a time sets and uses it.
        self._lock = threading.Lock()

    @property
    def languages(self) -> LanguageTokens | None:
        """A multilingual model's language codes (the registry checks a pair against
        them); None for a pair model."""
        return self.codec.languages

    @classmethod
    def load(cls, model_id: str, options: EngineOptions) -> CTranslate2Translator:
        """Load a model, converting it first unless a converted copy is cached.

        Raises:
            UnsupportedPair: `model_id` names a local folder that does not exist.
            ModelUnavailable: the model could not be converted.
            OSError: a hub model could not be fetched (the registry tells a missing
                repository from an unreachable hub).
        """
        import ctranslate2

        device = resolve_device(options.device)
        compute_type = resolve_compute_type(options.compute_type, device)
        folder = converted(model_id, Path(options.cache_dir).expanduser(), compute_type)
        inter, intra = layout(options.threads, device)
        translator = ctranslate2.Translator(
            str(folder), device, compute_type=compute_type, inter_threads=inter, intra_threads=intra
        )
        codec = load_codec(folder)
        log.info(
            "loaded %r on %s (%s, %d parallel batches x %d threads) from %r",
            model_id, device, compute_type, inter, intra, str(folder),
        )  # fmt: skip
        made = cls(model_id, translator, codec, read_generation(folder), options.num_beams)
        made.parallel = inter
        return made

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate texts in one CTranslate2 call (greedy or beam search)."""
        if not texts:
            return []
        prefix: list[list[str]] | None = None
        src_code: str | None = None
        with self._lock:
            languages = self.codec.languages
            if languages is not None:
                src_code, tgt_code = languages.code(src), languages.code(tgt)
                if src_code is None or tgt_code is None:
                    raise UnsupportedPair(src, tgt, self.model_id)
                prefix = [[self.codec.language_token(tgt_code)]] * len(texts)
            tokens = self.codec.encode(texts, src_code, MAX_INPUT)
        results = self.translator.translate_batch(
            tokens,
            target_prefix=prefix,
            beam_size=self.num_beams,
            max_decoding_length=self.max_decoding_length,
            min_decoding_length=self.min_decoding_length,
            # CTranslate2 sorts a call by length and splits it into batches it runs in
            # parallel, one per inter thread; on CPU, batches over about 64 lose to
            # cache misses (bench/engine.py).
            max_batch_size=min(MAX_BATCH, -(-len(texts) // self.parallel)),
        )
        # The target prefix is the language token: not text (and not always special).
        skip = 1 if prefix else 0
        return self.codec.decode([r.hypotheses[0][skip:] for r in results])


def layout(threads: int, device: str) -> tuple[int, int]:
    """(inter_threads, intra_threads) for an engine given `threads` cores (0: all).

    On a CPU, a batch per core run in parallel (a call split among them) beat one batch
    on every core: 1.5x the sentences/s at batch 64 on 2 cores (bench/api.py), the
    model's weights shared by the parallel batches. On a GPU, one batch at a time.
    """
    if device == "cuda":
        return 1, max(threads, 0)
    cores = threads or len(os.sched_getaffinity(0))
    return max(cores, 1), 1


def resolve_device(device: str) -> str:
    """`auto` is `cuda` when CTranslate2 sees a GPU, else `cpu`."""
    import ctranslate2

    if device == "auto":
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device


def resolve_compute_type(compute_type: str, device: str) -> str:
    """`auto` is float16 on a GPU and int8 on a CPU (CTranslate2's fast paths)."""
    if compute_type == "auto":
        return "float16" if resolve_device(device) == "cuda" else "int8"
    return compute_type


def decoding_limits(generation: dict[str, Any]) -> tuple[int, int]:
    """CTranslate2's (max, min) decoding lengths that match transformers' `generate`.

    transformers counts the decoder start token in max_length and min_length, and a
    forced EOS takes the last place; CTranslate2 counts neither (but does count a
    target prefix, as transformers counts the forced language token).
    """
    max_length = int(generation.get("max_length") or DEFAULT_MAX_LENGTH)
    forced_eos = generation.get("forced_eos_token_id") is not None
    longest = max(max_length - 1 - int(forced_eos), 1)
    shortest = int(generation.get("min_length") or 0) - 1
    return longest, min(max(shortest, 0), longest)


def cache_name(model_id: str, quantization: str) -> str:
    """A folder name unique to a model (and, for a local folder, its files) and type."""
    source = Path(model_id).expanduser()
    key, name = model_id, model_id
    if source.is_dir():
        source = source.resolve()
        # A local folder can be rewritten in place (MODEL_TEMPLATE points there); its
        # files' sizes and times are in the key, so a changed model converts again.
        files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in source.iterdir())
        key, name = repr((str(source), files)), source.name
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-.")[-64:]
    return f"{slug}-{digest}-{quantization}"


def converted(model_id: str, cache_dir: Path, quantization: str) -> Path:
    """The converted copy of a model under `cache_dir/ct2`, converting it if missing.

    Conversion writes a private folder beside the target and renames it into place, so
    a target that exists is complete; if another process won the race, its copy is used.
    """
    if missing_folder(model_id):
        raise UnsupportedPair("?", "?", model_id)
    target = cache_dir / "ct2" / cache_name(model_id, quantization)
    if not (target / "model.bin").is_file():
        # transformers 5 loads models unsafely from concurrent threads (a lost race
        # leaves meta tensors behind for good): one conversion per process at a time;
        # and one per cache across processes (a worker's children all start together),
        # so the others wait for the copy rather than convert it again.
        with _CONVERTING, _cache_lock(target):
            if not (target / "model.bin").is_file():
                _convert_into(target, model_id, looks_local(model_id), quantization)
    return target


@contextlib.contextmanager
def _cache_lock(target: Path) -> Iterator[None]:
    # Beside the copies, not among them: ct2/ holds only models (`tolmach models list`).
    locks = target.parent.parent / "ct2-locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _convert_into(target: Path, model_id: str, local: bool, quantization: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        log.info("converting %r to CTranslate2 (%s)", model_id, quantization)
        name = str(Path(model_id).expanduser()) if local else model_id
        cached_first(name, lambda source: _convert_afresh(source, scratch, quantization))
        try:
            scratch.rename(target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
            log.info("%r was converted by another process meanwhile", model_id)
    except OSError as exc:
        if not local:  # the registry tells a missing hub repository from an unreachable hub
            raise
        raise ModelUnavailable(f"cannot convert {model_id}: {exc}") from exc
    except Exception as exc:
        raise ModelUnavailable(f"cannot convert {model_id}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _convert_afresh(model_id: str, folder: Path, quantization: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # what a failed try from the cache left
    convert(model_id, folder, quantization)


def convert(model_id: str, folder: Path, quantization: str) -> None:
    """Convert and quantize a model into `folder`, with its tokenizer and generation config."""
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    converter = TransformersConverter(model_id)
    converter.load_tokenizer = lambda cls, name, **kw: _WithLanguageTokens(
        cls.from_pretrained(name, **kw)
    )
    converter.convert(str(folder), quantization=quantization)
    AutoTokenizer.from_pretrained(model_id).save_pretrained(folder)
    try:
        generation = GenerationConfig.from_pretrained(model_id)
    except OSError:  # older repositories keep generation settings in config.json
        generation = GenerationConfig.from_model_config(AutoConfig.from_pretrained(model_id))
    generation.save_pretrained(folder)


class _WithLanguageTokens:
    """A tokenizer whose `get_vocab()` has its language tokens: transformers 5 keeps
    M2M100's `__xx__` out of it, so CTranslate2's converter built a vocabulary too short.
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def get_vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = dict(self._tokenizer.get_vocab())
        for index in getattr(self._tokenizer, "lang_code_to_id", {}).values():
            vocab.setdefault(self._tokenizer.convert_ids_to_tokens(index), index)
        return vocab
