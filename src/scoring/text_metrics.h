// Pure text measures behind the deterministic assertions: edit distance,
// ROUGE-N, BLEU, word and character counts, cosine similarity, refusal
// detection. All functions are pure and thread-safe; text is UTF-8.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace dw::scoring {

// Unicode code points of `text`. A byte that does not start a valid UTF-8
// sequence becomes one code point of its own value, so nothing is dropped.
std::vector<char32_t> DecodeUtf8(std::string_view text);

// Number of Unicode code points in `text` (what `character-count` counts).
size_t CountCharacters(std::string_view text);

// Number of maximal runs of non-white-space characters (ASCII white space),
// as promptfoo's `word-count` counts: text.trim().split(/\s+/).
size_t CountWords(std::string_view text);

// Levenshtein edit distance (unit insert, delete, substitute costs) between
// the code-point sequences of `a` and `b`.
size_t LevenshteinDistance(std::string_view a, std::string_view b);

// min(LevenshteinDistance(a, b), bound + 1), computed in O(bound * length)
// so long outputs against a small threshold stay cheap.
size_t BoundedLevenshteinDistance(std::string_view a, std::string_view b, size_t bound);

// Penn-Treebank-style word tokens, the tokenizer js-rouge (and so promptfoo's
// `rouge-n`) uses, simplified: white space separates tokens; , ; : @ # $ % &
// ? ! ( ) [ ] { } < > and double quotes become tokens of their own (a comma or
// colon followed by a digit stays inside the number); "..." and "--" are
// tokens; a period ending the text is split off; the clitics 's 'm 'd 'll 're
// 've n't are split from their word. Case is preserved.
std::vector<std::string> TreebankTokenize(std::string_view text);

// Occurrence counts of the distinct n-grams of a token sequence (tokens
// joined with single spaces), the prepared side of ROUGE and BLEU.
struct NGramTable {
  std::unordered_map<std::string, size_t> slot;  // n-gram -> index into counts
  std::vector<int> counts;
  long total = 0;  // number of n-grams, with repetitions
};

// ROUGE-N recall of `candidate` against `reference`: the clipped count of
// reference n-grams that also occur in the candidate, divided by the number of
// reference n-grams (Lin 2004), over TreebankTokenize tokens, case-sensitive.
// 0 when the reference has fewer than `n` tokens. (js-rouge, behind
// promptfoo's rouge-n, counts distinct candidate n-grams instead, so a
// reference with a repeated word scores below 1 even against itself.)
double RougeNRecall(std::string_view candidate, std::string_view reference, int n = 1);

// A ROUGE-N reference tokenised once for repeated scoring:
// RougeReference(r, n).Recall(c) == RougeNRecall(c, r, n). Immutable and
// thread-safe.
class RougeReference {
 public:
  explicit RougeReference(std::string_view reference, int n = 1);
  double Recall(std::string_view candidate) const;

 private:
  int n_;
  NGramTable table_;
};

// Sentence BLEU exactly as promptfoo computes it: lower-cased, white-space
// tokens; clipped n-gram precisions for n = 1..4 taking the best reference per
// order; a zero precision smoothed to 1e-7; uniform weights; brevity penalty
// exp(1 - r/c) against the reference closest in length (first on ties).
// 0 for an empty candidate. `references` must not be empty.
double SentenceBleu(std::string_view candidate, const std::vector<std::string>& references);

// BLEU references prepared once: BleuReferences(refs).Score(c) ==
// SentenceBleu(c, refs). Immutable and thread-safe.
class BleuReferences {
 public:
  explicit BleuReferences(const std::vector<std::string>& references);
  double Score(std::string_view candidate) const;

 private:
  std::vector<size_t> lengths_;
  std::vector<std::array<NGramTable, 4>> tables_;  // per reference, orders 1..4
};

// Cosine similarity of two equally long vectors; 0 if either has zero norm.
// kInvalidInput if the lengths differ or a vector is empty.
Result<double> CosineSimilarity(const std::vector<double>& a, const std::vector<double>& b);

// Dot product of two equally long vectors; kInvalidInput if lengths differ.
Result<double> DotProduct(const std::vector<double>& a, const std::vector<double>& b);

// Euclidean distance of two equally long vectors; kInvalidInput if lengths differ.
Result<double> EuclideanDistance(const std::vector<double>& a, const std::vector<double>& b);

// Heuristic refusal detector used by `is-refusal` and the failure taxonomy.
// True if the text is empty or white space, or (after lower-casing ASCII and
// folding typographic apostrophes) starts with a refusal opener such as
// "i'm sorry", "i cannot", "i can't", "i am unable", "i won't", "as an ai", or
// contains an unambiguous refusal phrase anywhere in its first 400 bytes
// ("i cannot help with", "i can't assist with", "i must decline",
// "against my guidelines", ...). The full lists are in text_metrics.cc.
bool LooksLikeRefusal(std::string_view text);

// ASCII lower-casing (bytes >= 0x80 are kept), the case folding used by the
// `icontains*` assertions and BLEU.
std::string AsciiLower(std::string_view text);

}  // namespace dw::scoring
