// The encoder half of seq2seq_model (include/lstm/seq2seq.h), for the decoder, which runs it
// once per batch of sources as a Model of its own (weights copied by name).
#pragma once

#include <vector>

#include "lstm/seq2seq.h"

namespace lstm {

struct Seq2seqEncoderGraph {
  SymbolicTensor source;                             // Input "source" [Ts] ids
  SymbolicTensor sequence;                           // (Ts, H)
  std::vector<std::vector<SymbolicTensor>> states;  // per layer: {h, c}, each (H)
};
// Throws lstm::Error naming a field of `a` out of range.
Seq2seqEncoderGraph seq2seq_encoder_graph(const Seq2seqArchitecture& a);

}  // namespace lstm
