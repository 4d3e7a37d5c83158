// torch.save files without running code: libzip for the archive, a restricted pickle machine
// for data.pkl (see torch_file.h for the opcodes and globals it knows).
#include "io/torch_file.h"

#include <zip.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "core/limits.h"
#include "io/file.h"
#include "io/zip_writer.h"
#include "lstm/error.h"

namespace lstm {

namespace {

constexpr int64_t kPickleBytes = int64_t(256) << 20;  // data.pkl of a state_dict: kilobytes
constexpr size_t kStackDepth = 1 << 20;
constexpr int kDims = 16;

// ---- the values a state_dict's pickle builds -------------------------------------------------

struct Obj;
using Ref = std::shared_ptr<Obj>;

struct Obj {
  enum class Kind { none, boolean, integer, floating, string, tuple, list, dict, global, storage, tensor } kind;
  int64_t i = 0;                    // boolean, integer
  double f = 0.0;                   // floating
  std::string s;                    // string; global: "module.name"; storage: its key
  std::vector<Ref> items;           // tuple, list; dict: key, value, key, value, ...
  std::string dtype;                // storage
  int64_t numel = 0;                // storage
  Ref storage;                      // tensor
  int64_t offset = 0;               // tensor
  std::vector<int64_t> size, stride;  // tensor
};

Ref make(Obj::Kind k) {
  auto o = std::make_shared<Obj>();
  o->kind = k;
  return o;
}

const char* kind_name(Obj::Kind k) {
  switch (k) {
    case Obj::Kind::none: return "None";
    case Obj::Kind::boolean: return "a bool";
    case Obj::Kind::integer: return "an int";
    case Obj::Kind::floating: return "a float";
    case Obj::Kind::string: return "a string";
    case Obj::Kind::tuple: return "a tuple";
    case Obj::Kind::list: return "a list";
    case Obj::Kind::dict: return "a dict";
    case Obj::Kind::global: return "a global";
    case Obj::Kind::storage: return "a storage";
    case Obj::Kind::tensor: return "a tensor";
  }
  return "?";
}

struct StorageType {
  const char* global;  // torch.<X>Storage
  const char* dtype;
  int bytes;
};
constexpr StorageType kStorages[] = {
    {"torch.FloatStorage", "float32", 4}, {"torch.DoubleStorage", "float64", 8}, {"torch.HalfStorage", "float16", 2},
    {"torch.BFloat16Storage", "bfloat16", 2}, {"torch.LongStorage", "int64", 8}, {"torch.IntStorage", "int32", 4},
    {"torch.ShortStorage", "int16", 2}, {"torch.CharStorage", "int8", 1}, {"torch.ByteStorage", "uint8", 1},
    {"torch.BoolStorage", "bool", 1}};

const StorageType* storage_type(const std::string& global) {
  for (const StorageType& t : kStorages)
    if (global == t.global) return &t;
  return nullptr;
}

// ---- the pickle machine ----------------------------------------------------------------------

class Unpickler {
 public:
  Unpickler(std::span<const uint8_t> data, std::string where) : d_(data), where_(std::move(where)) {}
  // A pickle can put a list or dict inside itself (through the memo): the machine owns every
  // value it made and empties them all at the end, so that no cycle outlives it.
  ~Unpickler() {
    for (const Ref& r : all_) r->items.clear(), r->storage.reset();
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  Ref run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;  // PROTO n
        case 0x95: take(8); break;  // FRAME: a length hint
        case '.':                   // STOP
          if (stack_.size() != 1 || !marks_.empty()) fail(at, "STOP with " + std::to_string(stack_.size()) + " values on the stack");
          return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(obj(Obj::Kind::none)); break;
        case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
          Ref b = obj(Obj::Kind::boolean);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'J': push_int(int32_t(le(4))); break;        // BININT
        case 'K': push_int(int64_t(le(1))); break;        // BININT1
        case 'M': push_int(int64_t(le(2))); break;        // BININT2
        case 0x8a: {                                      // LONG1: n bytes, two's complement
          const int n = byte();
          if (n > 8) fail(at, "LONG1 of " + std::to_string(n) + " bytes (more than 64 bits)");
          uint64_t v = n ? le(n) : 0;
          if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign
          push_int(int64_t(v));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t v = 0;
          for (uint8_t c : take(8)) v = v << 8 | c;
          Ref f = obj(Obj::Kind::floating);
          std::memcpy(&f->f, &v, 8);
          push(f);
          break;
        }
        case 'X': push_string(take(le(4))); break;     // BINUNICODE
        case 0x8c: push_string(take(byte())); break;   // SHORT_BINUNICODE
        case ')': push(obj(Obj::Kind::tuple)); break;  // EMPTY_TUPLE
        case 't': {                                     // TUPLE
          Ref t = obj(Obj::Kind::tuple);
          t->items = pop_to_mark(at);
          push(t);
          break;
        }
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t n = size_t(op - 0x84);
          need(at, n);
          Ref t = obj(Obj::Kind::tuple);
          t->items.assign(stack_.end() - ptrdiff_t(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(t);
          break;
        }
        case ']': push(obj(Obj::Kind::list)); break;  // EMPTY_LIST
        case '}': push(obj(Obj::Kind::dict)); break;  // EMPTY_DICT
        case 'a': {                                    // APPEND
          need(at, 2);
          Ref v = pop();
          into(at, Obj::Kind::list, "APPEND")->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<Ref> vs = pop_to_mark(at);
          Ref l = into(at, Obj::Kind::list, "APPENDS");
          l->items.insert(l->items.end(), vs.begin(), vs.end());
          break;
        }
        case 's': {  // SETITEM
          need(at, 3);
          Ref v = pop(), k = pop();
          Ref dict = into(at, Obj::Kind::dict, "SETITEM");
          dict->items.push_back(k), dict->items.push_back(v);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Ref> kv = pop_to_mark(at);
          if (kv.size() % 2) fail(at, "SETITEMS with an odd number of values");
          Ref dict = into(at, Obj::Kind::dict, "SETITEMS");
          dict->items.insert(dict->items.end(), kv.begin(), kv.end());
          break;
        }
        case 'q': memo_put(at, le(1)); break;   // BINPUT
        case 'r': memo_put(at, le(4)); break;   // LONG_BINPUT
        case 0x94: memo_put(at, memo_.size()); break;  // MEMOIZE
        case 'h': memo_get(at, le(1)); break;   // BINGET
        case 'j': memo_get(at, le(4)); break;   // LONG_BINGET
        case 'c': {                             // GLOBAL "module\nname\n"
          const std::string module = line(at), name = line(at);
          const std::string full = module + "." + name;
          if (full != "collections.OrderedDict" && full != "torch._utils._rebuild_tensor_v2" &&
              full != "torch._utils._rebuild_parameter" && !storage_type(full))
            fail(at, "the global " + full + ", which a state_dict of tensors does not use: loading this file "
                     "with torch.load (pickle) would have run it. Refused; save the model's state_dict() "
                     "(tensors only), or convert it with safetensors");
          Ref g = obj(Obj::Kind::global);
          g->s = full;
          push(g);
          break;
        }
        case 'Q': {  // BINPERSID: ('storage', type, key, location, numel)
          need(at, 1);
          push(storage(at, pop()));
          break;
        }
        case 'R': {  // REDUCE
          need(at, 2);
          Ref args = pop(), callable = pop();
          push(reduce(at, callable, args));
          break;
        }
        case 'b': {  // BUILD: an OrderedDict's attributes (state_dict's _metadata): kept out
          need(at, 2);
          pop();
          if (stack_.back()->kind != Obj::Kind::dict) fail(at, std::string("BUILD on ") + kind_name(stack_.back()->kind));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(at, std::string("the pickle opcode ") + hex +
                       ", which a state_dict of tensors does not use (this reader knows only those; see "
                       "src/io/torch_file.h)");
        }
      }
      if (stack_.size() > kStackDepth || marks_.size() > kStackDepth) fail(at, "a stack deeper than 2^20 values");
    }
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& why) const {
    throw Error(where_ + " at byte " + std::to_string(at) + ": " + why);
  }
  uint8_t byte() {
    if (pos_ >= d_.size()) fail(pos_, "the pickle ends before its STOP (a truncated file)");
    return d_[pos_++];
  }
  std::span<const uint8_t> take(uint64_t n) {
    if (n > d_.size() - pos_) fail(pos_, "the pickle ends inside a value of " + std::to_string(n) + " bytes (a truncated file)");
    const auto s = d_.subspan(pos_, size_t(n));
    pos_ += size_t(n);
    return s;
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    const auto b = take(uint64_t(n));
    for (int k = n - 1; k >= 0; --k) v = v << 8 | b[size_t(k)];
    return v;
  }
  std::string line(size_t at) {
    std::string s;
    while (true) {
      const uint8_t c = byte();
      if (c == '\n') return s;
      if (s.size() > 256) fail(at, "a GLOBAL name longer than 256 bytes");
      s += char(c);
    }
  }
  Ref obj(Obj::Kind k) {
    all_.push_back(make(k));
    return all_.back();
  }
  void push(Ref r) { stack_.push_back(std::move(r)); }
  void push_int(int64_t v) {
    Ref r = obj(Obj::Kind::integer);
    r->i = v;
    push(r);
  }
  void push_string(std::span<const uint8_t> b) {
    Ref r = obj(Obj::Kind::string);
    r->s.assign(b.begin(), b.end());
    push(r);
  }
  void need(size_t at, size_t n) const {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail(at, "an opcode needs " + std::to_string(n) + " values, the stack holds fewer");
  }
  Ref pop() {
    Ref r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  std::vector<Ref> pop_to_mark(size_t at) {
    if (marks_.empty()) fail(at, "an opcode needs a MARK, there is none");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> out(stack_.begin() + ptrdiff_t(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  Ref into(size_t at, Obj::Kind kind, const char* op) {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()) || stack_.back()->kind != kind)
      fail(at, std::string(op) + " needs " + kind_name(kind) + " below its values");
    return stack_.back();
  }
  void memo_put(size_t at, uint64_t key) {
    if (stack_.empty()) fail(at, "a memo put on an empty stack");
    if (key > kStackDepth) fail(at, "a memo key beyond 2^20");
    memo_[key] = stack_.back();
  }
  void memo_get(size_t at, uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail(at, "a memo get of key " + std::to_string(key) + ", never put");
    push(it->second);
  }

  Ref storage(size_t at, const Ref& pid) {
    const auto& p = pid->items;
    if (pid->kind != Obj::Kind::tuple || p.size() != 5 || p[0]->kind != Obj::Kind::string || p[0]->s != "storage" ||
        p[1]->kind != Obj::Kind::global || p[2]->kind != Obj::Kind::string || p[3]->kind != Obj::Kind::string ||
        p[4]->kind != Obj::Kind::integer)
      fail(at, "a persistent id that is not ('storage', <type>, key, location, numel)");
    const StorageType* t = storage_type(p[1]->s);
    if (!t) fail(at, "a storage of type " + p[1]->s + ", not a tensor storage");
    if (p[4]->i < 0 || p[4]->i > limits::kParams)
      fail(at, "a storage of " + std::to_string(p[4]->i) + " elements (0.." + std::to_string(limits::kParams) + ")");
    Ref s = obj(Obj::Kind::storage);
    s->s = p[2]->s, s->dtype = t->dtype, s->numel = p[4]->i;
    return s;
  }

  static std::vector<int64_t> ints(const Ref& t, bool* ok) {
    std::vector<int64_t> v;
    if (t->kind != Obj::Kind::tuple) return *ok = false, v;
    for (const Ref& e : t->items) {
      if (e->kind != Obj::Kind::integer) return *ok = false, v;
      v.push_back(e->i);
    }
    return v;
  }

  Ref reduce(size_t at, const Ref& callable, const Ref& args) {
    if (callable->kind != Obj::Kind::global || args->kind != Obj::Kind::tuple)
      fail(at, std::string("REDUCE of ") + kind_name(callable->kind) + " on " + kind_name(args->kind));
    const auto& a = args->items;
    if (callable->s == "collections.OrderedDict") {
      if (!a.empty()) fail(at, "OrderedDict built from arguments");
      return obj(Obj::Kind::dict);
    }
    if (callable->s == "torch._utils._rebuild_parameter") {  // (tensor, requires_grad, hooks)
      if (a.empty() || a[0]->kind != Obj::Kind::tensor) fail(at, "_rebuild_parameter without a tensor");
      return a[0];
    }
    if (callable->s == "torch._utils._rebuild_tensor_v2") {  // (storage, offset, size, stride, ...)
      bool ok = a.size() >= 4 && a[0]->kind == Obj::Kind::storage && a[1]->kind == Obj::Kind::integer;
      std::vector<int64_t> size, stride;
      if (ok) size = ints(a[2], &ok), stride = ints(a[3], &ok);
      if (!ok) fail(at, "_rebuild_tensor_v2 without (storage, offset, size, stride)");
      if (size.size() != stride.size() || size.size() > kDims)
        fail(at, "a tensor of " + std::to_string(size.size()) + " sizes and " + std::to_string(stride.size()) +
                     " strides (at most " + std::to_string(kDims) + " dimensions)");
      // every element's index offset + Σ i_k·stride_k must lie in the storage
      const int64_t numel_storage = a[0]->numel, offset = a[1]->i;
      if (offset < 0 || offset > limits::kParams) fail(at, "a tensor at storage offset " + std::to_string(offset));
      int64_t count = 1, last = offset;
      bool empty = false;
      for (size_t k = 0; k < size.size(); ++k) {
        if (size[k] < 0 || stride[k] < 0 || size[k] > limits::kParams || stride[k] > limits::kParams)
          fail(at, "a tensor with size " + std::to_string(size[k]) + " and stride " + std::to_string(stride[k]));
        if (size[k] == 0) empty = true;
        count *= size[k];  // each factor <= 2^31, and checked below before the next
        if (count > limits::kParams) fail(at, "a tensor of more than 2^31 elements");
        if (size[k] > 0) last += (size[k] - 1) * stride[k];
        if (last > limits::kParams * 2) fail(at, "a tensor reaching beyond 2^32 elements of its storage");
      }
      if (!empty && last >= numel_storage)
        fail(at, "a tensor at offset " + std::to_string(offset) + " reaching element " + std::to_string(last) +
                     " of a storage of " + std::to_string(numel_storage));
      Ref t = obj(Obj::Kind::tensor);
      t->storage = a[0], t->offset = offset, t->size = size, t->stride = stride;
      return t;
    }
    fail(at, "REDUCE of " + callable->s + " (not a constructor this reader allows)");
  }

  std::span<const uint8_t> d_;
  std::string where_;
  size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Ref> memo_;
  std::vector<Ref> all_;
};

// ---- the archive -----------------------------------------------------------------------------

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using Zip = std::unique_ptr<zip_t, ZipCloser>;

std::vector<uint8_t> read_entry(zip_t* z, zip_int64_t index, uint64_t expected, const std::string& where) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    throw Error(where + ": cannot read its size in the zip");
  if (st.size != expected)
    throw Error(where + ": " + std::to_string(st.size) + " bytes, but its tensor needs " + std::to_string(expected));
  // torch.save stores every entry uncompressed; a compressed one could inflate far beyond the
  // file (the size it declares is then not bounded by the file's own)
  if (!(st.valid & ZIP_STAT_COMP_METHOD) || st.comp_method != ZIP_CM_STORE || !(st.valid & ZIP_STAT_COMP_SIZE) ||
      st.comp_size != st.size)
    throw Error(where + ": a compressed entry, which torch.save does not write; refused (save the file again "
                        "with torch.save, or unzip and zip it with no compression)");
  zip_file_t* f = zip_fopen_index(z, zip_uint64_t(index), 0);
  if (!f) throw Error(where + ": cannot open it in the zip: " + zip_strerror(z));
  std::vector<uint8_t> out(size_t(st.size));
  const zip_int64_t n = out.empty() ? 0 : zip_fread(f, out.data(), out.size());
  char beyond;
  const zip_int64_t more = n == zip_int64_t(out.size()) ? zip_fread(f, &beyond, 1) : -1;  // the end: CRC checked
  zip_fclose(f);
  if (n != zip_int64_t(out.size()) || more != 0)
    throw Error(where + ": truncated or corrupt in the zip (its length or CRC-32 does not match)");
  return out;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = mant;
      do ++e, m <<= 1;
      while (!(m & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float element(const uint8_t* p, const std::string& dtype) {
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  if (dtype == "float32") return load(float());
  if (dtype == "float64") return float(load(double()));
  if (dtype == "float16") return half_to_float(load(uint16_t()));
  if (dtype == "bfloat16") {
    const uint32_t bits = uint32_t(load(uint16_t())) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  if (dtype == "int64") return float(load(int64_t()));
  if (dtype == "int32") return float(load(int32_t()));
  if (dtype == "int16") return float(load(int16_t()));
  if (dtype == "int8") return float(load(int8_t()));
  if (dtype == "uint8") return float(load(uint8_t()));
  return load(uint8_t()) ? 1.0f : 0.0f;  // bool
}

int element_bytes(const std::string& dtype) {
  for (const StorageType& t : kStorages)
    if (dtype == t.dtype) return t.bytes;
  return 1;
}

// The root's (name, tensor) pairs in order; throws unless it is a dict of strings to tensors.
std::vector<std::pair<Ref, Ref>> tensors_of(const Ref& root, const std::string& name) {
  if (root->kind != Obj::Kind::dict)
    throw Error(name + ": holds " + std::string(kind_name(root->kind)) +
                ", not a state_dict (a dict of names to tensors): save model.state_dict()");
  std::vector<std::pair<Ref, Ref>> out;
  for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
    const Ref &key = root->items[k], &value = root->items[k + 1];
    if (key->kind != Obj::Kind::string) throw Error(name + ": a state_dict key that is not a string");
    if (value->kind != Obj::Kind::tensor)
      throw Error(name + ": '" + key->s + "' holds " + kind_name(value->kind) + ", not a tensor");
    out.emplace_back(key, value);
  }
  return out;
}

// lstm's extra entry, when present: its bytes (a config is kilobytes; 16 MiB at most)
std::string config_entry(zip_t* z, const std::string& folder, const std::string& name) {
  const std::string entry = folder + "lstm_config.json";
  const zip_int64_t index = zip_name_locate(z, entry.c_str(), 0);
  if (index < 0) return "";
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > (16u << 20))
    throw Error(name + ": " + entry + " is unreadable or larger than 16 MiB");
  const std::vector<uint8_t> bytes = read_entry(z, index, st.size, name + ": " + entry);
  return std::string(bytes.begin(), bytes.end());
}

std::vector<TorchTensor> read_archive(zip_t* z, const std::string& name, std::string* lstm_config) {
  // the pickle: the one entry "<folder>/data.pkl"
  const zip_int64_t entries = zip_get_num_entries(z, 0);
  std::string folder;
  zip_int64_t pkl = -1;
  for (zip_int64_t k = 0; k < entries; ++k) {
    const char* n = zip_get_name(z, zip_uint64_t(k), 0);
    if (!n) continue;
    const std::string s = n;
    const size_t slash = s.find('/');
    if (slash != std::string::npos && s.substr(slash) == "/data.pkl") {
      if (pkl >= 0) throw Error(name + ": two data.pkl entries in the zip; a torch.save file has one");
      pkl = k, folder = s.substr(0, slash + 1);
    }
  }
  if (pkl < 0)
    throw Error(name + ": no <name>/data.pkl in the zip, so not a torch.save file (PyTorch 1.6 or later; an older "
                       "file: load it and save it again with torch.save in a current PyTorch)");
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, zip_uint64_t(pkl), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
      st.size > uint64_t(kPickleBytes))
    throw Error(name + ": " + folder + "data.pkl is unreadable or larger than 256 MiB");
  const std::vector<uint8_t> pickle = read_entry(z, pkl, st.size, name + ": " + folder + "data.pkl");
  Unpickler machine(pickle, name + ": " + folder + "data.pkl");
  const Ref root = machine.run();  // its values live as long as the machine
  if (lstm_config) *lstm_config = config_entry(z, folder, name);

  std::vector<TorchTensor> out;
  std::map<std::string, std::vector<uint8_t>> storages;  // key -> bytes, read once
  for (const auto& [key, value] : tensors_of(root, name)) {
    const Obj& s = *value->storage;
    const int bytes = element_bytes(s.dtype);
    auto it = storages.find(s.s);
    if (it == storages.end()) {
      const std::string entry = folder + "data/" + s.s;
      const zip_int64_t index = zip_name_locate(z, entry.c_str(), 0);
      if (index < 0) throw Error(name + ": '" + key->s + "' needs " + entry + ", which the zip does not hold");
      it = storages.emplace(s.s, read_entry(z, index, uint64_t(s.numel) * uint64_t(bytes), name + ": " + entry)).first;
    }
    TorchTensor t{key->s, value->size, {}, s.dtype};
    int64_t count = 1;
    for (int64_t d : value->size) count *= d;
    t.data.resize(size_t(count));
    const size_t dims = value->size.size();
    std::vector<int64_t> idx(dims, 0);
    for (int64_t e = 0; e < count; ++e) {  // row-major walk over the strided view
      int64_t at = value->offset;
      for (size_t d = 0; d < dims; ++d) at += idx[d] * value->stride[d];
      t.data[size_t(e)] = element(it->second.data() + at * bytes, s.dtype);
      for (size_t d = dims; d-- > 0;) {
        if (++idx[d] < value->size[d]) break;
        idx[d] = 0;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

std::vector<TorchTensor> read_torch_state_dict(const std::string& path, std::string* lstm_config) {
  int err = 0;
  Zip z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw Error(path + ": cannot read it as a torch.save zip file: " + why);
  }
  return read_archive(z.get(), path, lstm_config);
}

std::vector<TorchTensor> decode_torch_state_dict(std::span<const uint8_t> bytes, const std::string& name,
                                                 std::string* lstm_config) {
  zip_error_t e;
  zip_error_init(&e);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &e);
  if (!src) {
    zip_error_fini(&e);
    throw Error(name + ": out of memory opening the zip");
  }
  Zip z(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &e));
  if (!z) {
    zip_source_free(src);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw Error(name + ": cannot read it as a torch.save zip file: " + why);
  }
  zip_error_fini(&e);
  return read_archive(z.get(), name, lstm_config);
}

std::vector<TorchTensor> decode_torch_pickle(std::span<const uint8_t> pickle, const std::string& name) {
  if (pickle.size() > uint64_t(kPickleBytes)) throw Error(name + ": a pickle larger than 256 MiB");
  Unpickler machine(pickle, name);
  const Ref root = machine.run();
  std::vector<TorchTensor> out;
  for (const auto& [key, value] : tensors_of(root, name)) out.push_back({key->s, value->size, {}, value->storage->dtype});
  return out;
}

// ---- the writer ------------------------------------------------------------------------------
// The pickle torch.save writes for a state_dict (protocol 2), without its memo:
//   OrderedDict() MARK { name  _rebuild_tensor_v2((persid ('storage', FloatStorage, key, 'cpu',
//   numel), 0, sizes, strides, False, OrderedDict())) }... SETITEMS STOP

namespace {

struct Pickler {
  std::string out;
  void op(char c) { out += c; }
  void str(const std::string& s) {
    op('X');  // BINUNICODE: u32 length, UTF-8
    const uint32_t n = uint32_t(s.size());
    for (int k = 0; k < 4; ++k) out += char((n >> (8 * k)) & 0xff);
    out += s;
  }
  void global(const char* module, const char* name) {
    op('c');
    out += std::string(module) + "\n" + name + "\n";
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K'), out += char(v);
    } else if (v >= 0 && v < 65536) {
      op('M'), out += char(v & 0xff), out += char(v >> 8);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      for (int k = 0; k < 4; ++k) out += char((uint32_t(int32_t(v)) >> (8 * k)) & 0xff);
    } else {
      op('\x8a'), out += char(8);  // LONG1, 8 bytes two's complement
      for (int k = 0; k < 8; ++k) out += char((uint64_t(v) >> (8 * k)) & 0xff);
    }
  }
  void tuple(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    op('t');
  }
  void ordered_dict() { global("collections", "OrderedDict"), op(')'), op('R'); }
};

std::string stem_of(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  const size_t dot = s.rfind('.');
  if (dot != std::string::npos && dot > 0) s.resize(dot);
  std::string clean;
  for (char c : s) clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return clean.empty() ? "archive" : clean;
}

}  // namespace

std::string encode_torch_state_dict(const std::vector<TorchTensor>& tensors, const std::string& stem,
                                    const std::string& lstm_config) {
  Pickler p;
  p.op('\x80'), p.out += char(2);  // PROTO 2
  p.ordered_dict();
  p.op('(');
  std::vector<std::string> storages;  // entry k: tensor k's float32 bytes
  for (const TorchTensor& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error("tensor '" + t.name + "': a negative dimension");
      numel *= d;
    }
    if (numel != int64_t(t.data.size()))
      throw Error("tensor '" + t.name + "': its shape holds " + std::to_string(numel) + " values, its data " +
                  std::to_string(t.data.size()));
    std::vector<int64_t> strides(t.shape.size());
    int64_t step = 1;
    for (size_t d = t.shape.size(); d-- > 0;) strides[d] = step, step *= t.shape[d];
    const std::string key = std::to_string(storages.size());
    p.str(t.name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('('), p.str("storage"), p.global("torch", "FloatStorage"), p.str(key), p.str("cpu"), p.integer(numel), p.op('t');
    p.op('Q');  // BINPERSID
    p.integer(0);
    p.tuple(t.shape);
    p.tuple(strides);
    p.op('\x89');  // NEWFALSE: requires_grad
    p.ordered_dict();  // backward hooks
    p.op('t');
    p.op('R');
    storages.emplace_back(reinterpret_cast<const char*>(t.data.data()), t.data.size() * sizeof(float));
  }
  p.op('u');  // SETITEMS
  p.op('.');  // STOP

  std::vector<std::pair<std::string, std::string>> entries = {{stem + "/data.pkl", p.out}};
  for (size_t k = 0; k < storages.size(); ++k) entries.emplace_back(stem + "/data/" + std::to_string(k), std::move(storages[k]));
  if (!lstm_config.empty()) entries.emplace_back(stem + "/lstm_config.json", lstm_config);
  entries.emplace_back(stem + "/version", "3\n");
  const std::string bytes = zip_stored(entries);
  return bytes;
}

void write_torch_state_dict(const std::string& path, const std::vector<TorchTensor>& tensors,
                            const std::string& lstm_config) {
  std::string bytes;
  try {
    bytes = encode_torch_state_dict(tensors, stem_of(path), lstm_config);
  } catch (const Error& err) {
    throw Error("cannot write '" + path + "': " + err.what());
  }
  write_file_atomic(path, bytes, "PyTorch state_dict");
}

}  // namespace lstm
