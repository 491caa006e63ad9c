"""The translation engine: text in, text out, free of Celery and Telegram.

- `service`: `TranslationService`, the core (plan a route, detect, split, cache, batch).
- `registry`: which model serves a pair (direct or through English) and the loaded models.
- `base`: the `Translator` protocol and `EngineOptions`; `transformers`, `ctranslate2` and
  `tokens`: the two backends.
- `segment`, `batching`, `cache`, `detect`: the steps the service runs.
- `models`: fetching, converting and listing models for `tolmach models`.
"""
