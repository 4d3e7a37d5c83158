// The pictures of a report drawn from pixels (report.h): the spectrogram with the CTC output, and
// strips of video frames.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "report/report.h"

namespace lstm {

namespace {

// A colour for v in [0, 1]: dark blue through teal and green to yellow (viridis-like).
void colour(double v, unsigned char rgb[3]) {
  static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  v = std::clamp(v, 0.0, 1.0) * 4.0;
  const int k = std::min(int(v), 3);
  const double f = v - k;
  for (int c = 0; c < 3; ++c) rgb[c] = (unsigned char)std::lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]));
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += table[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16;
    out += table[v >> 18], out += table[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += table[v >> 18], out += table[(v >> 12) & 63], out += table[(v >> 6) & 63], out += '=';
  }
  return out;
}

// An uncompressed 24-bit BMP of width × height pixels; pixel(x, y, rgb) with y = 0 the top row.
template <class Pixel>
std::string bmp(int width, int height, Pixel pixel) {
  const int row = (3 * width + 3) / 4 * 4;
  const uint32_t size = 54 + uint32_t(row) * uint32_t(height);
  std::string b(size, '\0');
  auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) b[at + size_t(k)] = char((v >> (8 * k)) & 0xFF);
  };
  b[0] = 'B', b[1] = 'M';
  put32(2, size), put32(10, 54), put32(14, 40), put32(18, uint32_t(width)), put32(22, uint32_t(height));
  b[26] = 1, b[28] = 24;
  put32(34, uint32_t(row) * uint32_t(height));
  for (int y = 0; y < height; ++y) {  // BMP rows run bottom to top
    const size_t at = 54 + size_t(height - 1 - y) * size_t(row);
    for (int x = 0; x < width; ++x) {
      unsigned char rgb[3];
      pixel(x, y, rgb);
      b[at + size_t(3 * x)] = char(rgb[2]), b[at + size_t(3 * x + 1)] = char(rgb[1]), b[at + size_t(3 * x + 2)] = char(rgb[0]);
    }
  }
  return b;
}

std::string escape(const std::string& s) { return html_escape(s); }

}  // namespace

std::string spectrogram_svg(const std::string& id, const Spectrogram& sp) {
  const int64_t F = sp.frames, B = sp.bins, S = sp.steps, C = int64_t(sp.classes.size());
  if (F < 1 || B < 1 || int64_t(sp.values.size()) != F * B) return "";
  const bool ctc = S >= 1 && C >= 1 && int64_t(sp.probabilities.size()) == S * C;
  const double left = 60, width = 840, spec_h = 160, top = 30, gap = 24, row_h = 12;
  const double post_top = top + spec_h + gap, post_h = ctc ? row_h * double(C) : 0, text_top = post_top + post_h + 16;
  const double H = (ctc ? text_top + 20 : top + spec_h + 20);
  float lo = *std::min_element(sp.values.begin(), sp.values.end()), hi = *std::max_element(sp.values.begin(), sp.values.end());
  if (!(hi > lo)) hi = lo + 1.0f;
  const std::string spec = bmp(int(F), int(B), [&](int x, int y, unsigned char rgb[3]) {
    colour((sp.values[size_t(x) * size_t(B) + size_t(B - 1 - y)] - lo) / (hi - lo), rgb);  // low bands at the bottom
  });
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart spectrogram\" viewBox=\"0 0 " << left + width + 20 << " " << H
    << "\" width=\"" << left + width + 20 << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s << "<text x=\"10\" y=\"18\" class=\"title\">" << escape(sp.title) << "</text>\n";
  s << "<image x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\"" << spec_h
    << "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/bmp;base64,"
    << base64(spec) << "\"/>\n";
  s << "<text x=\"" << left - 6 << "\" y=\"" << top + 12 << "\" class=\"tick\" text-anchor=\"end\">high</text>\n"
    << "<text x=\"" << left - 6 << "\" y=\"" << top + spec_h << "\" class=\"tick\" text-anchor=\"end\">low</text>\n";
  if (ctc) {
    const std::string post = bmp(int(S), int(C), [&](int x, int y, unsigned char rgb[3]) {
      colour(sp.probabilities[size_t(x) * size_t(C) + size_t(y)], rgb);
    });
    s << "<image x=\"" << left << "\" y=\"" << post_top << "\" width=\"" << width << "\" height=\"" << post_h
      << "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/bmp;base64,"
      << base64(post) << "\"/>\n";
    for (int64_t c = 0; c < C; ++c)
      s << "<text x=\"" << left - 6 << "\" y=\"" << post_top + row_h * (double(c) + 0.8)
        << "\" class=\"tick\" text-anchor=\"end\">" << escape(sp.classes[size_t(c)] == " " ? "space" : sp.classes[size_t(c)])
        << "</text>\n";
    int previous = 0;  // greedy decoding: each emitted character where it is emitted
    for (int64_t t = 0; t < S; ++t) {
      const float* p = sp.probabilities.data() + t * C;
      const int k = int(std::max_element(p, p + C) - p);
      if (k != 0 && k != previous) {
        const std::string ch = sp.classes[size_t(k)] == " " ? "\xE2\x90\xA3" : sp.classes[size_t(k)];  // ␣ for a space
        s << "<text x=\"" << left + width * (double(t) + 0.5) / double(S) << "\" y=\"" << text_top
          << "\" class=\"emitted\" text-anchor=\"middle\">" << escape(ch) << "</text>\n";
      }
      previous = k;
    }
    s << "<text x=\"" << left - 6 << "\" y=\"" << text_top << "\" class=\"tick\" text-anchor=\"end\">emitted</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

// Room for the row labels left of the pictures: about 7 pixels a character at 12 px.
static double label_width(const std::vector<std::string>& labels) {
  size_t longest = 0;
  for (const std::string& l : labels) longest = std::max(longest, l.size());
  return std::max(110.0, 7.0 * double(longest) + 16.0);
}

std::string frame_strip_svg(const std::string& id, const FrameStrip& f) {
  const int64_t H = f.height, W = f.width, C = f.channels, frame = H * W * C;
  if (H < 1 || W < 1 || (C != 1 && C != 3) || f.rows.empty() || H > 4096 || W > 4096) return "";
  int64_t n = 0;
  for (const auto& row : f.rows) {
    if (row.empty() || int64_t(row.size()) % frame != 0) return "";
    n = std::max<int64_t>(n, int64_t(row.size()) / frame);
  }
  const double scale = std::max(1.0, std::min(4.0, 64.0 / double(std::max(H, W))));
  const double fw = double(W) * scale, fh = double(H) * scale, gap = 4,
               left = label_width(f.row_labels), top = f.column_labels.empty() ? 30 : 48;
  const double width = left + double(n) * (fw + gap),
               height = top + double(f.rows.size()) * (fh + gap);
  std::ostringstream s;
  s << "<h2>" << escape(f.title) << "</h2>\n<svg id=\"" << id
    << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height << "\">\n";
  for (size_t c = 0; c < f.column_labels.size() && int64_t(c) < n; ++c)
    s << "<text x=\"" << left + double(c) * (fw + gap) + fw / 2 << "\" y=\"" << top - 8
      << "\" font-size=\"11\" text-anchor=\"middle\">" << escape(f.column_labels[c]) << "</text>\n";
  for (size_t r = 0; r < f.rows.size(); ++r) {
    const double y = top + double(r) * (fh + gap);
    if (r < f.row_labels.size())
      s << "<text x=\"" << left - 8 << "\" y=\"" << y + fh / 2 + 4
        << "\" font-size=\"12\" text-anchor=\"end\">" << escape(f.row_labels[r]) << "</text>\n";
    const std::vector<float>& row = f.rows[r];
    for (int64_t k = 0; k < int64_t(row.size()) / frame; ++k) {
      const float* px = row.data() + k * frame;
      const std::string image = bmp(int(W), int(H), [&](int x, int yy, unsigned char rgb[3]) {
        for (int ch = 0; ch < 3; ++ch) {
          const double v = px[(int64_t(yy) * W + x) * C + (C == 3 ? ch : 0)];
          rgb[ch] =
              (unsigned char)std::lround(std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0) * 255.0);
        }
      });
      s << "<image x=\"" << left + double(k) * (fw + gap) << "\" y=\"" << y << "\" width=\"" << fw
        << "\" height=\"" << fh
        << "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
           "href=\"data:image/bmp;base64,"
        << base64(image) << "\"/>\n";
    }
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace lstm
