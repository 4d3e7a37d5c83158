// PyTorch state_dicts as lstm models and back: which tensor of nn.LSTM, nn.GRU, nn.RNN,
// nn.Linear and nn.Embedding is which of ours (docs/interop.md).
//
// A state_dict's tensors group into modules, in the file's order:
//   <module>.{weight_ih,weight_hh,bias_ih,bias_hh,weight_hr}_l<k>[_reverse]   layer k of an RNN
//   <module>.weight, <module>.bias                                             Linear, Embedding
// and the model's layers that have weights take them in order, one module (or one layer k of a
// multi-layer RNN) each:
//   LSTM, SimpleRNN  weight_ih, weight_hh, bias = bias_ih + bias_hh, weight_hr (proj_size)
//   GRU              weight_ih, weight_hh, bias_ih, bias_hh (b_hn sits inside r * (...))
//   Bidirectional    forward.* from the names without _reverse, backward.* from those with it
//   Dense, TimeDistributed(Dense), Embedding   weight, bias
// Gate orders are PyTorch's in both (LSTM i, f, g, o; GRU r, z, n), so no rows move.
#pragma once

#include <string>
#include <vector>

#include "io/torch_file.h"
#include "lstm/model.h"

namespace lstm {

// The model the tensors describe. Its architecture: `config_json` (lstm's model config; an
// input_shape it lacks is taken from the weights), else `file_config` (the one a file written
// by lstm carries), else inferred from the names and shapes: RNN layers (LSTM when weight_ih
// has 4x the rows of the hidden size, GRU 3x, SimpleRNN 1x), an Embedding first when a
// weight-only module feeds the first RNN, and at most one Linear after the last RNN, which then
// returns its final state (h_n, as out[:, -1] gives for one direction); without a Linear the last
// RNN returns its whole sequence. What had to be assumed goes to `notes`. Every tensor must find
// its place and every place its tensor, with the right shape; anything else is lstm::Error
// naming the tensor in the file's own names. `name` is the file, for messages.
Sequential sequential_from_torch(const std::vector<TorchTensor>& tensors, const std::string& config_json,
                                 const std::string& file_config, const std::string& name,
                                 std::vector<std::string>* notes = nullptr);

// The model's weights under the names of scripts/torch_twin.py's Twin (layers.<i>.rnn.weight_ih_l0,
// layers.<i>.linear.weight, layers.<i>.embed.weight, ...), so that
// Twin(config).load_state_dict(torch.load(file, weights_only=True)) loads them; the LSTM and
// SimpleRNN bias goes to bias_ih, with bias_hh zero. Throws lstm::Error for a layer nn modules
// cannot run (peepholes, an LSTM's non-default activations, a layer type without a PyTorch twin).
std::vector<TorchTensor> torch_tensors_from(const Sequential& model);

}  // namespace lstm
