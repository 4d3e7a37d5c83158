// version.h - the library's version. CMakeLists.txt reads it from here (one place to change it);
// the installed CMake package checks find_package(lstm X.Y) against it, and lstm::version()
// returns LSTM_VERSION_STRING. While the major version is 0, a new minor version may change
// the API and the shared library's soname (liblstm.so.0.2).
#pragma once

#define LSTM_VERSION_MAJOR 0
#define LSTM_VERSION_MINOR 2
#define LSTM_VERSION_PATCH 0
#define LSTM_VERSION_STRING "0.2.0"
