#include "cli/cli.h"

int main(int argc, char** argv) { return dw::cli::Main(argc, argv); }
