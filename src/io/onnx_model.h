// lstm models as ONNX graphs (opset 14), through Debian's libonnx protobuf classes
// (docs/interop.md):
//   input  "x"        float [N, T, F] (int64 token ids [N, T] before an Embedding)
//          "lengths"  int32 [N], valid steps per row (with `lengths_input`; a model that starts
//                     with Embedding(mask_zero) or Masking finds them from its input instead)
//   output "y"        what predict() returns
// Recurrent layers become ONNX LSTM / GRU (linear_before_reset = 1, PyTorch's and lstm's GRU) /
// RNN nodes, time-major between two Transposes (onnxruntime runs layout = 0 only), with gate
// blocks reordered (LSTM i, f, g, o -> i, o, f, c; GRU r, z, n -> z, r, n), both biases in B
// (lstm's one, then zeros), peepholes in P, and the lengths as sequence_lens; merge modes,
// return_sequences and go_backwards are standard operators after them. Dense is MatMul + Add
// and its activation; Embedding is Gather; Masking compares with its mask value; Dropout is
// ONNX's Dropout (an identity outside training). A layer ONNX cannot express (an LSTM with proj_size) or a layer type without an
// ONNX form here is an lstm::Error naming it.
#pragma once

#include <string>
#include <vector>

#include "lstm/model.h"

namespace lstm {

struct OnnxExportOptions {
  bool lengths_input = false;  // add the "lengths" input (right-padded batches)
};

// The serialised ModelProto, which has passed ONNX's checker (libonnx's check_model).
std::string encode_onnx(const Sequential& model, const OnnxExportOptions& options = {});
// An ONNX model as an lstm model: graphs of the shape encode_onnx writes (the chain of layer
// patterns above; the nodes that compute lengths from the input are recognised as such), so that
// lstm -> ONNX -> lstm gives the same weights bit for bit. Any other node, attribute or layout
// (clip, input_forget, layout = 1, a GRU with linear_before_reset = 0, initial states) is an
// lstm::Error naming the node and its operator. `name` names the file in messages.
Sequential decode_onnx(const std::string& bytes, const std::string& name, std::vector<std::string>* notes = nullptr);
Sequential load_onnx(const std::string& path, std::vector<std::string>* notes = nullptr);

// The names of an ONNX model's graph inputs (for lstm verify: whether it takes "lengths").
std::vector<std::string> onnx_input_names(const std::string& path);
void save_onnx(const std::string& path, const Sequential& model, const OnnxExportOptions& options = {});

}  // namespace lstm
