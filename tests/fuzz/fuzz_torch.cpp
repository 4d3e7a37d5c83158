// torch.save files: any bytes as a whole file (libzip, then the restricted pickle machine) and
// as a data.pkl alone (the machine, past the zip's CRCs). What is read is a list of tensors
// whose data match their shapes; then the tensors as a model (src/io/torch_model.h), its
// architecture the one the file carries or inferred from the names and shapes.
#include <span>

#include "fuzz.h"
#include "io/torch_file.h"
#include "io/torch_model.h"

static void check(const std::vector<lstm::TorchTensor>& tensors, bool with_data) {
  for (const lstm::TorchTensor& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) __builtin_trap();
      n *= d;
    }
    if (with_data && int64_t(t.data.size()) != n) __builtin_trap();
  }
}

LSTM_FUZZ_TARGET({
  const std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  try {
    check(lstm::decode_torch_pickle(raw, "fuzz/data.pkl"), false);
  } catch (const lstm::Error&) {
  }
  std::string config;
  const std::vector<lstm::TorchTensor> tensors = lstm::decode_torch_state_dict(raw, "fuzz.pt", &config);
  check(tensors, true);
  lstm::Sequential model = lstm::sequential_from_torch(tensors, "", config, "fuzz.pt");
  if (model.count_params() <= 0) __builtin_trap();
})
