#include "model/pth.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

#include "model/safetensors.hpp"  // dtype_size, dtype_to_f32
#include "model/zip.hpp"
#include "util/atomic_file.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace ogpt::model {

namespace {

// ---- the pickle subset ----------------------------------------------------------------------

// Values live in the Unpickler's arena and refer to each other by plain pointers: a pickle can
// make cycles (a list holding itself through the memo) and deep nesting (2M TUPLE1 opcodes, found
// by fuzz_pickle), and neither may leak or recurse when the values are freed.
struct Value;
using V = Value*;

struct StorageRef {
  std::string dtype;  // safetensors name
  std::string key;    // file name under data/
  uint64_t numel = 0;
};

struct TensorRef {
  std::shared_ptr<StorageRef> storage;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

struct Value {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, TensorK, Mark } kind;
  int64_t i = 0;
  double f = 0;
  std::string s;                        // Str; Global "module.name"
  std::vector<V> items;                 // Tuple, List
  std::vector<std::pair<V, V>> dict;    // Dict (insertion order)
  std::shared_ptr<StorageRef> storage;  // Storage
  TensorRef tensor;                     // TensorK
  explicit Value(Kind k) : kind(k) {}
};

const char* storage_dtype(const std::string& global) {
  static const std::pair<const char*, const char*> kStorages[] = {
      {"torch.FloatStorage", "F32"},  {"torch.DoubleStorage", "F64"}, {"torch.HalfStorage", "F16"},
      {"torch.BFloat16Storage", "BF16"}, {"torch.BoolStorage", "BOOL"}, {"torch.ByteStorage", "U8"},
      {"torch.CharStorage", "I8"},    {"torch.ShortStorage", "I16"},  {"torch.IntStorage", "I32"},
      {"torch.LongStorage", "I64"}};
  for (auto& [g, d] : kStorages)
    if (global == g) return d;
  return nullptr;
}

bool allowed_global(const std::string& g) {
  return g == "collections.OrderedDict" || g == "torch._utils._rebuild_tensor_v2" ||
         g == "torch._utils._rebuild_parameter" || storage_dtype(g) != nullptr;
}

class Unpickler {
 public:
  // The values run() returns stay valid while the Unpickler lives.
  Unpickler(std::string_view p, std::string what) : p_(p), what_(std::move(what)) {}

  V run() {
    while (true) {
      if (pos_ >= p_.size()) throw fail("pickle ends without STOP (truncated)");
      op_at_ = pos_;
      const uint8_t op = static_cast<uint8_t>(p_[pos_++]);
      switch (op) {
        case 0x80: take(1); break;  // PROTO
        case 0x95: take(8); break;  // FRAME (protocol 4): a length hint only
        case '.': {                 // STOP
          V v = pop();
          return v;
        }
        case '(': stack_.push_back(make(Value::Mark)); break;
        case '}': stack_.push_back(make(Value::Dict)); break;
        case ']': stack_.push_back(make(Value::List)); break;
        case ')': stack_.push_back(make(Value::Tuple)); break;
        case 'N': stack_.push_back(make(Value::None)); break;
        case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
          V v = make(Value::Bool);
          v->i = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'K': push_int(static_cast<uint8_t>(*take(1))); break;
        case 'M': push_int(util::load_le<uint16_t>(take(2))); break;
        case 'J': push_int(util::load_le<int32_t>(take(4))); break;
        case 0x8a: {  // LONG1: n-byte little-endian two's complement
          const uint8_t n = static_cast<uint8_t>(*take(1));
          if (n > 8) throw fail("integer wider than 64 bits");
          const char* d = take(n);
          uint64_t u = 0;
          for (int k = n - 1; k >= 0; --k) u = (u << 8) | static_cast<uint8_t>(d[k]);
          if (n > 0 && n < 8 && (static_cast<uint8_t>(d[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
          push_int(static_cast<int64_t>(u));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const char* d = take(8);
          uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | static_cast<uint8_t>(d[k]);
          V v = make(Value::Float);
          std::memcpy(&v->f, &u, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': push_str(util::load_le<uint32_t>(take(4))); break;                     // BINUNICODE
        case 0x8c: push_str(static_cast<uint8_t>(*take(1))); break;            // SHORT_BINUNICODE
        case 'T': push_str(util::load_le<uint32_t>(take(4))); break;                     // BINSTRING
        case 'U': push_str(static_cast<uint8_t>(*take(1))); break;             // SHORT_BINSTRING
        case 't': stack_.push_back(tuple_of(pop_mark())); break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84;
          if (stack_.size() < n) throw fail("stack underflow");
          std::vector<V> items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(tuple_of(std::move(items)));
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          std::string mod = line(), name = line();
          push_global(mod + "." + name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          V name = pop(), mod = pop();
          if (name->kind != Value::Str || mod->kind != Value::Str) throw fail("STACK_GLOBAL needs strings");
          push_global(mod->s + "." + name->s);
          break;
        }
        case 'Q': {  // BINPERSID: ('storage', StorageType, key, location, numel)
          V pid = pop();
          stack_.push_back(persistent(pid));
          break;
        }
        case 'R': {  // REDUCE
          V args = pop(), fn = pop();
          stack_.push_back(reduce(fn, args));
          break;
        }
        case 'b': {  // BUILD: OrderedDict state (_metadata) and parameter state are not needed
          pop();
          if (stack_.empty()) throw fail("stack underflow");
          break;
        }
        case 's': {  // SETITEM
          V v = pop(), k = pop();
          dict_top()->dict.emplace_back(k, v);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) throw fail("SETITEMS with an odd number of items");
          V d = dict_top();
          for (size_t k = 0; k < items.size(); k += 2) d->dict.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'a': {  // APPEND
          V v = pop();
          list_top()->items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          V l = list_top();
          l->items.insert(l->items.end(), items.begin(), items.end());
          break;
        }
        case 'q': memo_[static_cast<uint8_t>(*take(1))] = top(); break;  // BINPUT
        case 'r': memo_[util::load_le<uint32_t>(take(4))] = top(); break;           // LONG_BINPUT
        case 0x94: {                                                      // MEMOIZE
          V t = top();
          memo_[static_cast<uint32_t>(memo_.size())] = t;
          break;
        }
        case 'h': get(static_cast<uint8_t>(*take(1))); break;  // BINGET
        case 'j': get(util::load_le<uint32_t>(take(4))); break;           // LONG_BINGET
        case '0': pop(); break;                                // POP
        case '2': stack_.push_back(top()); break;              // DUP
        default: {
          char buf[8];
          std::snprintf(buf, sizeof buf, "0x%02x", op);
          throw fail(std::string("pickle opcode ") + buf +
                     " is outside the safe subset this importer accepts (is this a state dict?)");
        }
      }
    }
  }

 private:
  UserError fail(const std::string& msg) const {
    return UserError(what_ + ": " + msg + " (data.pkl byte " + std::to_string(op_at_) + ")");
  }
  const char* take(size_t n) {
    if (n > p_.size() - pos_) throw fail("pickle truncated");
    const char* d = p_.data() + pos_;
    pos_ += n;
    return d;
  }
  std::string line() {
    auto nl = p_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 256) throw fail("bad GLOBAL");
    std::string s(p_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }
  V top() {
    if (stack_.empty()) throw fail("stack underflow");
    return stack_.back();
  }
  V pop() {
    V v = top();
    stack_.pop_back();
    if (v->kind == Value::Mark) throw fail("unexpected MARK");
    return v;
  }
  std::vector<V> pop_mark() {
    for (size_t k = stack_.size(); k-- > 0;)
      if (stack_[k]->kind == Value::Mark) {
        std::vector<V> items(stack_.begin() + static_cast<std::ptrdiff_t>(k) + 1, stack_.end());
        stack_.resize(k);
        return items;
      }
    throw fail("no MARK on the stack");
  }
  V dict_top() {
    V d = top();
    if (d->kind != Value::Dict) throw fail("SETITEM on something that is not a dict");
    return d;
  }
  V list_top() {
    V l = top();
    if (l->kind != Value::List) throw fail("APPEND on something that is not a list");
    return l;
  }
  void get(uint32_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) throw fail("memo key " + std::to_string(k) + " was never stored");
    stack_.push_back(it->second);
  }
  void push_int(int64_t i) {
    V v = make(Value::Int);
    v->i = i;
    stack_.push_back(v);
  }
  void push_str(uint64_t n) {
    V v = make(Value::Str);
    v->s.assign(take(n), n);
    stack_.push_back(v);
  }
  V make(Value::Kind k) {
    arena_.push_back(std::make_unique<Value>(k));
    return arena_.back().get();
  }
  V tuple_of(std::vector<V> items) {
    V t = make(Value::Tuple);
    t->items = std::move(items);
    return t;
  }
  void push_global(const std::string& g) {
    if (!allowed_global(g))
      throw fail("refusing global '" + g +
                 "': .pth import accepts only tensors and state dicts and never runs code "
                 "(save model.state_dict(), or convert to .safetensors)");
    V v = make(Value::Global);
    v->s = g;
    stack_.push_back(v);
  }
  V persistent(const V& pid) {
    if (pid->kind != Value::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Value::Str ||
        pid->items[0]->s != "storage" || pid->items[1]->kind != Value::Global ||
        pid->items[2]->kind != Value::Str || pid->items[4]->kind != Value::Int)
      throw fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    const char* dt = storage_dtype(pid->items[1]->s);
    if (!dt) throw fail("persistent id names '" + pid->items[1]->s + "', not a storage type");
    if (pid->items[4]->i < 0) throw fail("negative storage size");
    auto& slot = storages_[pid->items[2]->s];
    if (!slot) {
      slot = std::make_shared<StorageRef>();
      slot->dtype = dt;
      slot->key = pid->items[2]->s;
      slot->numel = static_cast<uint64_t>(pid->items[4]->i);
    }
    V v = make(Value::Storage);
    v->storage = slot;
    return v;
  }
  std::vector<int64_t> ints(const V& t, const char* what) {
    if (t->kind != Value::Tuple) throw fail(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (auto& x : t->items) {
      if (x->kind != Value::Int) throw fail(std::string(what) + " holds a non-integer");
      out.push_back(x->i);
    }
    return out;
  }
  V reduce(const V& fn, const V& args) {
    if (fn->kind != Value::Global || args->kind != Value::Tuple) throw fail("REDUCE needs a global and a tuple");
    const auto& a = args->items;
    if (fn->s == "collections.OrderedDict") {
      if (!a.empty()) throw fail("OrderedDict with arguments");
      return make(Value::Dict);
    }
    if (fn->s == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0]->kind != Value::TensorK) throw fail("_rebuild_parameter without a tensor");
      return a[0];
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") {
      if (a.size() < 4 || a[0]->kind != Value::Storage || a[1]->kind != Value::Int)
        throw fail("_rebuild_tensor_v2(storage, offset, size, stride, ...) expected");
      V t = make(Value::TensorK);
      t->tensor.storage = a[0]->storage;
      t->tensor.offset = a[1]->i;
      t->tensor.size = ints(a[2], "tensor size");
      t->tensor.stride = ints(a[3], "tensor stride");
      if (t->tensor.size.size() != t->tensor.stride.size()) throw fail("size and stride differ in length");
      return t;
    }
    throw fail("cannot call '" + fn->s + "'");
  }

  std::string_view p_;
  std::string what_;
  size_t pos_ = 0, op_at_ = 0;
  std::vector<std::unique_ptr<Value>> arena_;  // owns every value
  std::vector<V> stack_;
  std::unordered_map<uint32_t, V> memo_;
  std::map<std::string, std::shared_ptr<StorageRef>> storages_;
};

bool has_tensor_values(const Value& d) {
  for (auto& [k, v] : d.dict)
    if (v->kind == Value::TensorK) return true;
  return false;
}

}  // namespace

PthFile parse_pth(std::string_view bytes, const std::string& what) {
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80)
    throw UserError(what + ": legacy (pre-1.6, non-zip) torch.save format; re-save it with a newer "
                    "torch, or convert to .safetensors");
  if (bytes.size() < 4 || util::load_le<uint32_t>(bytes.data()) != 0x04034b50u)
    throw UserError(what + ": not a PyTorch .pth file (no zip signature at byte 0)");
  Zip zip(bytes, what);
  std::string pkl_name;
  for (auto& [name, e] : zip.entries())
    if (name.ends_with("/data.pkl") && name.find('/') == name.size() - 9) pkl_name = name;
  if (pkl_name.empty()) throw UserError(what + ": no <dir>/data.pkl in the archive (not a torch.save file?)");
  const std::string dir = pkl_name.substr(0, pkl_name.size() - 8);  // "<dir>/"
  // torch >= 2.1 records the writer's byte order; storages are read as little-endian here
  if (zip.entries().count(dir + "byteorder") && zip.read(dir + "byteorder").starts_with("big"))
    throw UserError(what + ": written on a big-endian machine; only little-endian .pth files are supported");

  const std::string pkl = zip.read(pkl_name);
  Unpickler unpickler(pkl, what);
  V root = unpickler.run();
  if (root->kind != Value::Dict) throw UserError(what + ": the pickled object is not a dict of tensors");

  PthFile out;
  const Value* sd = root;
  if (!has_tensor_values(*sd)) {
    for (const char* key : {"state_dict", "model_state_dict", "model", "module"})
      for (auto& [k, v] : root->dict)
        if (out.nested_under.empty() && k->kind == Value::Str && k->s == key &&
            v->kind == Value::Dict && has_tensor_values(*v)) {
          sd = v;
          out.nested_under = key;
        }
    if (out.nested_under.empty()) {
      std::string keys;
      for (auto& [k, v] : root->dict)
        if (k->kind == Value::Str) keys += (keys.empty() ? "" : ", ") + k->s;
      throw UserError(what + ": no tensors at the top level nor under state_dict/model (keys: " + keys + ")");
    }
  }

  std::map<std::string, std::string> storage_bytes;  // key -> raw bytes, read once
  for (auto& kv : sd->dict) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const V& k = kv.first;
    const V& v = kv.second;
    if (v->kind != Value::TensorK) continue;
    if (k->kind != Value::Str) throw UserError(what + ": a state dict key is not a string");
    const TensorRef& t = v->tensor;
    const StorageRef& s = *t.storage;
    auto bad = [&](const std::string& why) {
      return UserError(what + ": tensor '" + k->s + "': " + why);
    };
    auto it = storage_bytes.find(s.key);
    if (it == storage_bytes.end()) it = storage_bytes.emplace(s.key, zip.read(dir + "data/" + s.key)).first;
    const std::string& raw = it->second;
    const size_t es = dtype_size(s.dtype);
    if (raw.size() / es < s.numel)
      throw bad("storage " + s.key + " holds " + std::to_string(raw.size()) + " bytes, " +
                std::to_string(s.numel) + " " + s.dtype + " values expected");
    // The elements touched: offset + sum (size-1)*stride must stay inside the storage.
    uint64_t numel = 1, last = 0;
    if (t.offset < 0) throw bad("negative storage offset");
    const bool empty = std::find(t.size.begin(), t.size.end(), 0) != t.size.end();
    for (size_t d = 0; d < t.size.size(); ++d) {
      if (t.size[d] < 0 || t.stride[d] < 0) throw bad("negative size or stride");
      const auto sz = static_cast<uint64_t>(t.size[d]);
      if (sz != 0 && numel > (uint64_t{1} << 40) / sz) throw bad("absurdly large");
      numel *= sz;
      if (sz > 0) {
        const auto st = static_cast<uint64_t>(t.stride[d]);
        if (st > (uint64_t{1} << 40)) throw bad("absurd stride");
        // (sz - 1) * st must not wrap around 64 bits (2^24 * 2^40 = 0) and fool the check below.
        if (!empty && st != 0 && sz - 1 > s.numel / st)
          throw bad("view reaches past its storage of " + std::to_string(s.numel) + " values");
        last += (sz - 1) * st;
      }
    }
    // Stride 0 (an expanded view) may repeat values, but not into more memory than a state dict
    // could need: 4 stored values must not become 2^40 floats.
    if (numel > s.numel && numel > (uint64_t{1} << 28))
      throw bad("view expands " + std::to_string(s.numel) + " stored values to " + std::to_string(numel));
    if (numel > 0 && (static_cast<uint64_t>(t.offset) >= s.numel || last >= s.numel - static_cast<uint64_t>(t.offset)))
      throw bad("view [offset " + std::to_string(t.offset) + "] reaches past its storage of " +
                std::to_string(s.numel) + " values");
    Tensor out_t;
    out_t.shape = t.size;
    out_t.data.resize(numel);
    bool contiguous = true;
    int64_t expect = 1;
    for (size_t d = t.size.size(); numel > 0 && d-- > 0;) {  // numel 0: sizes may be huge, skip
      if (t.size[d] != 1 && t.stride[d] != expect) contiguous = false;
      expect *= t.size[d];
    }
    if (numel == 0) {
    } else if (contiguous) {
      dtype_to_f32(out_t.data.data(), raw.data() + t.offset * es, numel, s.dtype);
    } else {  // widen the touched span once, then gather with the strides
      std::vector<float> span(last + 1);
      dtype_to_f32(span.data(), raw.data() + t.offset * es, last + 1, s.dtype);
      const size_t nd = t.size.size();
      std::vector<int64_t> idx(nd, 0);
      for (uint64_t i = 0; i < numel; ++i) {
        int64_t src = 0;
        for (size_t d = 0; d < nd; ++d) src += idx[d] * t.stride[d];
        out_t.data[i] = span[static_cast<size_t>(src)];
        for (size_t d = nd; d-- > 0;) {
          if (++idx[d] < t.size[d]) break;
          idx[d] = 0;
        }
      }
    }
    out.dtypes[k->s] = s.dtype;
    out.tensors[k->s] = std::move(out_t);
  }
  return out;
}

PthFile load_pth(const std::string& path) { return parse_pth(util::read_file(path), path); }

}  // namespace ogpt::model
