#include "cli/cli.h"

#include <iostream>

namespace dw::cli {

int Main(int argc, char** argv) {
  std::cout << "driftwatch\n";
  return 0;
}

}  // namespace dw::cli
