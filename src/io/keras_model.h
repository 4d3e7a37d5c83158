// Keras model files as lstm models (docs/interop.md):
//   Keras 3 .keras   a zip: config.json (the model), metadata.json, model.weights.h5 with each
//                    layer's variables at layers/<snake_case class>[_<k>]/[cell/|layer/|
//                    forward_layer/cell/|backward_layer/cell/]vars/<i>
//   Keras 2 .h5      HDF5: the model_config attribute (JSON), and model_weights/<layer>/ with the
//                    attribute weight_names listing the layer's datasets in order
// Sequential models of LSTM, GRU (reset_after true or false), SimpleRNN, Bidirectional, Dense,
// TimeDistributed(Dense), Embedding, Masking, Dropout and InputLayer. Keras stores kernels
// [in, out] (x·W): they are transposed to lstm's [out, in]; GRU gates (z, r, h) are reordered to
// (r, z, n). Any other layer class or option is an error that names it; nothing is skipped.
#pragma once

#include <string>
#include <vector>

#include <memory>

#include "lstm/functional.h"
#include "lstm/model.h"

namespace lstm {

// A Keras file's model: a Sequential one as lstm::Sequential, a functional one (Functional /
// Model: its layers above plus Concatenate, Add, Multiply, Average, RepeatVector,
// LayerNormalization, Attention, AdditiveAttention, with return_state and initial_state) as an
// lstm::Model graph whose layers keep their Keras names. Exactly one is set.
struct KerasModel {
  std::unique_ptr<Sequential> sequential;
  std::unique_ptr<Model> graph;
};
KerasModel load_keras_model(const std::string& path, std::vector<std::string>* notes = nullptr);
KerasModel decode_keras_model(const std::string& bytes, const std::string& name, std::vector<std::string>* notes = nullptr);

// The Sequential model of a .keras or .h5 file (told apart by their first bytes); a functional
// one is an error pointing to the above. What had to be assumed goes to `notes`.
Sequential load_keras(const std::string& path, std::vector<std::string>* notes = nullptr);
// The same from the file's bytes; `name` names it in messages.
Sequential decode_keras(const std::string& bytes, const std::string& name, std::vector<std::string>* notes = nullptr);

// The model as a Keras 3 .keras file's bytes (the layout above; layer names snake_case class
// names with counters, as Keras 3 names them), which keras.saving.load_model would read: the
// layers above only; an LSTM with proj_size or peepholes, a GRU's or SimpleRNN's options Keras
// lacks, and layers of other rooms are lstm::Error.
std::string encode_keras(const Sequential& model);
// A graph model as a Keras 3 functional model: its inputs as InputLayers, each layer under its
// lstm name with one inbound node per call (a shared layer: several), the merge, attention,
// RepeatVector and LayerNormalization layers too. Inputs that take lengths and stateful layers
// are lstm::Error.
std::string encode_keras(const Model& model);

}  // namespace lstm
