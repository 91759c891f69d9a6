#pragma once
// A dense row-major float matrix: predicted probabilities [n x k] and similar per-row scores.
#include <cstdint>
#include <vector>

namespace nlpc::eval {

struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;  // rows * cols, row-major

  Matrix() = default;
  Matrix(int64_t r, int64_t c, float fill = 0.f) : rows(r), cols(c), data(size_t(r * c), fill) {}
  float* row(int64_t i) { return data.data() + i * cols; }
  const float* row(int64_t i) const { return data.data() + i * cols; }
  float& at(int64_t i, int64_t j) { return data[size_t(i * cols + j)]; }
  float at(int64_t i, int64_t j) const { return data[size_t(i * cols + j)]; }
};

// Copies the rows `idx` (in that order, repeats allowed) into a new matrix.
Matrix take_rows(const Matrix& m, const std::vector<int64_t>& idx);

}  // namespace nlpc::eval
