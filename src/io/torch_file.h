// PyTorch's torch.save files (PyTorch >= 1.6: a zip holding <name>/data.pkl, the pickled object,
// and <name>/data/<key>, each storage's raw little-endian bytes), read without running code.
//
// Loading such a file with pickle runs whatever functions its pickle names; this reader is a
// small pickle machine that knows only what a state_dict of tensors uses:
//   opcodes  PROTO STOP MARK NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1 BINFLOAT
//            BINUNICODE SHORT_BINUNICODE EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST
//            APPEND APPENDS EMPTY_DICT SETITEM SETITEMS BINPUT LONG_BINPUT MEMOIZE BINGET
//            LONG_BINGET GLOBAL REDUCE BUILD BINPERSID FRAME
//   globals  collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//            torch._utils._rebuild_parameter, torch.<Float|Double|Half|BFloat16|Long|Int|
//            Short|Char|Byte|Bool>Storage (persistent ids ('storage', type, key, 'cpu', numel))
// and refuses anything else with lstm::Error naming the file, the offset in data.pkl and the
// opcode or global ("loading it with torch.load would have run <module>.<name>"). Every count,
// index and size read from the file is checked before it is used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lstm {

struct TorchTensor {
  std::string name;
  std::vector<int64_t> shape;  // {} for a scalar
  std::vector<float> data;     // row-major, converted to float32 from the stored dtype
  std::string dtype;           // as stored: "float32", "float64", "float16", "bfloat16", "int64", ...
};

// The tensors of a saved state_dict (a dict, or OrderedDict, of names to tensors or
// nn.Parameters), in the file's order. Throws lstm::Error for a file that is not such a zip,
// a pickle outside the subset above, a value that is not a tensor (named by its key), a
// storage missing from the zip or shorter than its tensor needs, and a tensor whose sizes and
// strides reach outside its storage, and a compressed zip entry (torch.save stores entries
// uncompressed, so each entry's size is bounded by the file's).
//
// `lstm_config`, when given, receives the lstm model config a file written by
// write_torch_state_dict carries in its extra entry <name>/lstm_config.json ("" when absent).
std::vector<TorchTensor> read_torch_state_dict(const std::string& path, std::string* lstm_config = nullptr);
// The same from the file's bytes; `name` is used in messages.
std::vector<TorchTensor> decode_torch_state_dict(std::span<const uint8_t> bytes, const std::string& name,
                                                 std::string* lstm_config = nullptr);
// The pickle machine alone, on the bytes of a data.pkl: each tensor's name, dtype and shape, its
// data left empty (the storages live in the zip). For tests and fuzzing.
std::vector<TorchTensor> decode_torch_pickle(std::span<const uint8_t> pickle, const std::string& name);

// A state_dict file as torch.save (PyTorch 1.13) writes one, which torch.load reads with
// weights_only=True: an OrderedDict of float32 tensors (data read as float32 whatever `dtype`
// says), entries stored uncompressed in a zip whose folder is the file's stem. A non-empty
// `lstm_config` goes in the extra entry <stem>/lstm_config.json, which torch.load ignores.
// Written atomically; throws lstm::Error on a tensor whose shape and data disagree.
void write_torch_state_dict(const std::string& path, const std::vector<TorchTensor>& tensors,
                            const std::string& lstm_config = "");
// The file's bytes, as write_torch_state_dict writes them; `stem` is the zip's folder.
std::string encode_torch_state_dict(const std::vector<TorchTensor>& tensors, const std::string& stem,
                                    const std::string& lstm_config = "");

}  // namespace lstm
