// Restricted unpickler (see include/nlpc/io/pickle.h). Opcode semantics follow CPython's
// Lib/pickle.py (_Unpickler.load_*), reimplemented for the subset a PyTorch state dict uses.
#include "nlpc/io/pickle.h"

#include <cstring>
#include <limits>

#include "nlpc/core/error.h"

namespace nlpc::pickle {
namespace {

using Kind = Value::Kind;

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16},  {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8},   {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL}, {"UntypedStorage", DType::U8},
};
constexpr const char* kCallables[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor",
                                      "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"};

bool allowed_global(const std::string& g) {
  for (const char* c : kCallables) {
    if (g == c) return true;
  }
  DType d;
  return g.rfind("torch.", 0) == 0 && storage_dtype(g.substr(6), d);
}

std::string allowed_list() {
  std::string s;
  for (const char* c : kCallables) s += std::string(s.empty() ? "" : ", ") + c;
  return s + ", torch.<Type>Storage";
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'P': return "PERSID";
    case 0x82: case 0x83: case 0x84: return "EXT";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, size_t& pos, const std::string& source, const PersistentLoad& pl)
      : data_(data), size_(size), pos_(pos), source_(source), persistent_load_(pl) {}
  ValuePtr run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_, 0, 0, "cannot read the pickled state dict (byte " + std::to_string(op_pos_) + "): " + what);
  }
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) fail("needs " + std::to_string(n) + " more bytes but only " + std::to_string(size_ - pos_) + " are left (truncated?)");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t uint(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr) fail("unterminated text argument (truncated?)");
    const size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string s(reinterpret_cast<const char*>(take(n + 1)), n);
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }
  ValuePtr make(Kind k) {
    if (++created_ > kMaxValues) fail("more than " + std::to_string(kMaxValues) + " objects: not a state dict");
    auto v = std::make_shared<Value>();
    v->kind = k;
    return v;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  void push_int(int64_t i, Kind k = Kind::Int) {
    auto v = make(k);
    v->i = i;
    push(v);
  }
  void push_text(uint64_t n, Kind k) {
    auto v = make(k);
    v->s.assign(reinterpret_cast<const char*>(take(n)), n);
    push(v);
  }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> out(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return out;
  }
  void push_seq(Kind k, std::vector<ValuePtr> items) {
    auto v = make(k);
    v->items = std::move(items);
    push(v);
  }
  void tuple_n(size_t n) {
    std::vector<ValuePtr> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop();
    push_seq(Kind::Tuple, std::move(items));
  }
  void long_value(uint64_t n);
  void text_int(bool long_form);
  void set_items(Value& dict, std::vector<ValuePtr>& kv);
  void append(std::vector<ValuePtr> items);
  void put(uint64_t key) { memo_[key] = top(); }
  void get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo reference " + std::to_string(key) + " refers to nothing");
    push(it->second);
  }
  void global(const std::string& module, const std::string& name);
  ValuePtr call(const Value& func, const Value& args);
  ValuePtr rebuild_tensor(const Value& args, bool v2);
  int64_t as_int(const Value& v, const char* what) const {
    if (v.kind != Kind::Int) fail(std::string(what) + " must be an integer, got " + v.kind_name());
    return v.i;
  }
  std::vector<int64_t> int_list(const Value& v, const char* what) const;
  bool step(uint8_t op);

  const uint8_t* data_;
  size_t size_;
  size_t& pos_;
  size_t op_pos_ = 0;
  const std::string& source_;
  const PersistentLoad& persistent_load_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  size_t created_ = 0;
};

void Machine::long_value(uint64_t n) {
  const uint8_t* p = take(n);
  if (n <= 8) {
    uint64_t u = 0;
    for (uint64_t i = n; i-- > 0;) u = (u << 8) | p[i];
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(u));
    return;
  }
  auto v = make(Kind::BigInt);
  v->s.assign(reinterpret_cast<const char*>(p), n);
  push(v);
}

void Machine::text_int(bool long_form) {
  std::string s = line();
  if (long_form && !s.empty() && s.back() == 'L') s.pop_back();
  if (!long_form && (s == "00" || s == "01")) {
    push_int(s == "01", Kind::Bool);
    return;
  }
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    push_int(v);
  } catch (const std::exception&) {
    fail("expected an integer, got '" + s.substr(0, 40) + "'");
  }
}

void Machine::set_items(Value& dict, std::vector<ValuePtr>& kv) {
  if (dict.kind != Kind::Dict) fail(std::string("SETITEM(S) on a ") + dict.kind_name() + ", expected a dict");
  if (kv.size() % 2 != 0) fail("odd number of items for a dict");
  if (!dict.str_keys) dict.str_keys = std::make_unique<std::unordered_map<std::string, size_t>>();
  for (size_t i = 0; i < kv.size(); i += 2) {
    if (kv[i]->kind == Kind::Str) {
      auto [it, fresh] = dict.str_keys->emplace(kv[i]->s, dict.items.size());
      if (!fresh) {
        dict.items[it->second + 1] = std::move(kv[i + 1]);  // Python: a repeated key replaces the value
        continue;
      }
    }
    dict.items.push_back(std::move(kv[i]));
    dict.items.push_back(std::move(kv[i + 1]));
  }
}

void Machine::append(std::vector<ValuePtr> items) {
  Value& list = *top();
  if (list.kind != Kind::List) fail(std::string("APPEND(S) on a ") + list.kind_name() + ", expected a list");
  for (auto& v : items) list.items.push_back(std::move(v));
}

void Machine::global(const std::string& module, const std::string& name) {
  const std::string g = module + "." + name;
  if (!allowed_global(g)) {
    fail("refusing global '" + g + "': nlpc reads state dicts only and executes nothing from a checkpoint (allowed: " +
         allowed_list() + ")");
  }
  auto v = make(Kind::Global);
  v->s = g;
  push(v);
}

std::vector<int64_t> Machine::int_list(const Value& v, const char* what) const {
  if (v.kind != Kind::Tuple && v.kind != Kind::List) fail(std::string(what) + " must be a tuple of integers");
  std::vector<int64_t> out;
  for (const auto& x : v.items) {
    const int64_t i = as_int(*x, what);
    if (i < 0) fail(std::string(what) + " has a negative entry " + std::to_string(i));
    out.push_back(i);
  }
  return out;
}

ValuePtr Machine::rebuild_tensor(const Value& args, bool v2) {
  const size_t n = args.items.size();
  if (v2 ? (n != 6 && n != 7) : n != 4) fail(std::string(v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor") + " with " + std::to_string(n) + " arguments");
  const Value& storage = *args.items[0];
  if (storage.kind != Kind::Storage) fail(std::string("a tensor's storage must be a persistent storage, got ") + storage.kind_name());
  auto t = std::make_unique<TensorRef>(*storage.tensor);
  t->storage = storage.i;
  const int64_t offset = as_int(*args.items[1], "storage offset");
  if (offset < 0 || offset > (int64_t{1} << 62)) fail("storage offset " + std::to_string(offset) + " is out of range");
  t->offset += offset;  // storage views of the legacy format start at a base offset
  t->shape = int_list(*args.items[2], "tensor size");
  t->stride = int_list(*args.items[3], "tensor stride");
  if (t->shape.size() != t->stride.size()) fail("size and stride have different lengths");
  // numel and the last element reached, with overflow checks (both stay below 2^62)
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t numel = 1, last = static_cast<uint64_t>(t->offset);
  for (size_t d = 0; d < t->shape.size(); ++d) {
    const auto s = static_cast<uint64_t>(t->shape[d]), st = static_cast<uint64_t>(t->stride[d]);
    if (s != 0 && numel > kLimit / s) fail("tensor size overflows: its element count exceeds 2^62");
    numel *= s;
    if (s > 0 && st != 0 && (s - 1) > (kLimit - last) / st) fail("tensor stride overflows");
    if (s > 0) last += (s - 1) * st;
  }
  if (numel > 0 && last >= storage.tensor->storage_numel) {
    fail("tensor of size " + std::to_string(numel) + " at storage offset " + std::to_string(t->offset) +
         " reaches element " + std::to_string(last) + " of storage '" + storage.s + "', which has " +
         std::to_string(storage.tensor->storage_numel) + " elements");
  }
  auto v = make(Kind::Tensor);
  v->tensor = std::move(t);
  return v;
}

ValuePtr Machine::call(const Value& func, const Value& args) {
  if (func.kind != Kind::Global) fail(std::string("call of a ") + func.kind_name() + ", expected an allowed global");
  if (args.kind != Kind::Tuple) fail("call arguments must be a tuple");
  if (func.s == "collections.OrderedDict") {
    auto d = make(Kind::Dict);
    if (args.items.empty()) return d;
    if (args.items.size() != 1 || args.items[0]->kind != Kind::List) fail("OrderedDict() takes one list of pairs");
    std::vector<ValuePtr> kv;
    for (const auto& p : args.items[0]->items) {
      if ((p->kind != Kind::Tuple && p->kind != Kind::List) || p->items.size() != 2) fail("OrderedDict item is not a pair");
      kv.push_back(p->items[0]);
      kv.push_back(p->items[1]);
    }
    set_items(*d, kv);
    return d;
  }
  if (func.s == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args, true);
  if (func.s == "torch._utils._rebuild_tensor") return rebuild_tensor(args, false);
  if (func.s == "torch._utils._rebuild_parameter") {
    if (args.items.size() != 3 || args.items[0]->kind != Kind::Tensor) fail("_rebuild_parameter(tensor, requires_grad, hooks) expected");
    return args.items[0];
  }
  fail("'" + func.s + "' cannot be called (a storage type is only valid inside a persistent id)");
}

ValuePtr Machine::run() {
  for (;;) {
    op_pos_ = pos_;
    const uint8_t op = *take(1);
    if (op == '.') {
      if (!marks_.empty()) fail("STOP inside an unclosed MARK");
      if (stack_.empty()) fail("STOP with an empty stack");
      return stack_.back();
    }
    if (!step(op)) {
      const char* name = opcode_name(op);
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail(std::string("opcode ") + hex + (name ? std::string(" (") + name + ") is not used by state dicts; refused"
                                               : std::string(" is not a pickle opcode nlpc reads (corrupt file?)")));
    }
  }
}

// One opcode (other than STOP); false when it is not supported.
bool Machine::step(uint8_t op) {
  switch (op) {
    case 0x80: if (const uint64_t p = uint(1); p > 5) fail("pickle protocol " + std::to_string(p) + " (nlpc reads 2 to 5)"); break;
    case 0x95: take(8); break;  // FRAME: framing is transparent to a reader that has all bytes
    case '(': marks_.push_back(stack_.size()); break;
    case '0': pop(); break;
    case '1': pop_mark(); break;
    case '2': push(top()); break;
    case 'N': push(make(Kind::None)); break;
    case 0x88: case 0x89: push_int(op == 0x88, Kind::Bool); break;
    case 'K': push_int(static_cast<int64_t>(uint(1))); break;
    case 'M': push_int(static_cast<int64_t>(uint(2))); break;
    case 'J': push_int(static_cast<int32_t>(uint(4))); break;
    case 0x8a: long_value(uint(1)); break;
    case 0x8b: long_value(uint(4)); break;
    case 'I': text_int(false); break;
    case 'L': text_int(true); break;
    case 'G': {
      uint64_t bits = 0;
      for (const uint8_t* p = take(8), *e = p + 8; p < e; ++p) bits = (bits << 8) | *p;  // big-endian
      auto v = make(Kind::Float);
      std::memcpy(&v->f, &bits, 8);
      push(v);
      break;
    }
    case 'X': push_text(uint(4), Kind::Str); break;
    case 0x8c: push_text(uint(1), Kind::Str); break;
    case 0x8d: push_text(uint(8), Kind::Str); break;
    case 'U': push_text(uint(1), Kind::Str); break;  // Python 2 str, read as text (torch.load's encoding)
    case 'T': push_text(uint(4), Kind::Str); break;
    case 'C': push_text(uint(1), Kind::Bytes); break;
    case 'B': push_text(uint(4), Kind::Bytes); break;
    case 0x8e: push_text(uint(8), Kind::Bytes); break;
    case ')': push_seq(Kind::Tuple, {}); break;
    case 't': push_seq(Kind::Tuple, pop_mark()); break;
    case 0x85: case 0x86: case 0x87: tuple_n(op - 0x84); break;
    case ']': push_seq(Kind::List, {}); break;
    case 'l': push_seq(Kind::List, pop_mark()); break;
    case 'a': { auto v = pop(); append({std::move(v)}); break; }
    case 'e': append(pop_mark()); break;
    case '}': push(make(Kind::Dict)); break;
    case 'd': { auto kv = pop_mark(); push(make(Kind::Dict)); set_items(*top(), kv); break; }
    case 's': { std::vector<ValuePtr> kv(2); kv[1] = pop(); kv[0] = pop(); set_items(*top(), kv); break; }
    case 'u': { auto kv = pop_mark(); set_items(*top(), kv); break; }
    case 'q': put(uint(1)); break;
    case 'r': put(uint(4)); break;
    case 0x94: put(memo_.size()); break;
    case 'h': get(uint(1)); break;
    case 'j': get(uint(4)); break;
    case 'p': case 'g': {
      const std::string s = line();
      char* end = nullptr;
      const unsigned long long k = std::strtoull(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0') fail("memo key must be a number, got '" + s.substr(0, 40) + "'");
      op == 'p' ? put(k) : get(k);
      break;
    }
    case 'c': { const std::string module = line(); global(module, line()); break; }
    case 0x93: {
      auto name = pop(), module = pop();
      if (name->kind != Kind::Str || module->kind != Kind::Str) fail("STACK_GLOBAL needs two strings");
      global(module->s, name->s);
      break;
    }
    case 'R': case 0x81: { auto args = pop(); auto func = pop(); push(call(*func, *args)); break; }
    case 'b': {
      auto state = pop();
      const Value& obj = *top();
      // OrderedDict state {'_metadata': ...} of Module.state_dict(): attributes nlpc does not need
      if (obj.kind != Kind::Dict || (state->kind != Kind::Dict && state->kind != Kind::None)) {
        fail(std::string("BUILD of a ") + obj.kind_name() + " with a " + state->kind_name() + " state is not a state dict");
      }
      break;
    }
    case 'Q': {
      auto pid = pop();
      if (!persistent_load_) fail("a persistent id where none is expected");
      push(persistent_load_(*pid));
      break;
    }
    default: return false;
  }
  return true;
}

}  // namespace

Value::~Value() {
  std::vector<ValuePtr> work;
  work.swap(items);
  while (!work.empty()) {
    ValuePtr v = std::move(work.back());
    work.pop_back();
    if (v && v.use_count() == 1) {
      for (auto& c : v->items) work.push_back(std::move(c));
      v->items.clear();
    }
  }
}

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool TensorRef::contiguous() const {
  int64_t expected = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1 && stride[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

bool storage_dtype(const std::string& global, DType& out) {
  for (const auto& s : kStorageTypes) {
    if (global == s.name) {
      out = s.dtype;
      return true;
    }
  }
  return false;
}

Unpickler::Unpickler(const uint8_t* data, size_t size, std::string source, PersistentLoad persistent_load)
    : data_(data), size_(size), source_(std::move(source)), persistent_load_(std::move(persistent_load)) {}

ValuePtr Unpickler::load() {
  Machine m(data_, size_, pos_, source_, persistent_load_);
  return m.run();
}

}  // namespace nlpc::pickle
