"""Text: character or word language models, and classifiers of labelled texts."""
from ._lstm import (  # noqa: F401
    LanguageModel,
    TextClassifier,
    read_labeled_texts,
    train_language_model,
    train_text_classifier,
)
