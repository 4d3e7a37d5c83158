"""The Levenshtein distance the twin and anchor scripts score with (seq2seq_twin.py,
speech_twin.py, pocketsphinx_digits.py): what token, word and character error rates count, as
lstm's own score_sequences does (substitutions, insertions and deletions, each 1)."""


def edit_distance(x, y):
    """Edits turning sequence x into sequence y."""
    d = list(range(len(y) + 1))
    for i in range(1, len(x) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(y) + 1):
            cur = d[j]
            d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (x[i - 1] != y[j - 1]))
            prev = cur
    return d[len(y)]
