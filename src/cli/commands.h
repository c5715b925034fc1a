// Subcommand entry points. Each takes the arguments after its own name and
// returns a process exit code (core/status.h ExitCode). Never throws.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace dw::cli {

using Args = std::vector<std::string>;

int DbCommand(const Args& args, std::ostream& out, std::ostream& err);
int GoldensetCommand(const Args& args, std::ostream& out, std::ostream& err);
int ConfigCommand(const Args& args, std::ostream& out, std::ostream& err);
int RunCommand(const Args& args, std::ostream& out, std::ostream& err);
int CompareCommand(const Args& args, std::ostream& out, std::ostream& err);
int ReportCommand(const Args& args, std::ostream& out, std::ostream& err);
int ReviewCommand(const Args& args, std::ostream& out, std::ostream& err);
int TargetCommand(const Args& args, std::ostream& out, std::ostream& err);
int AuditCommand(const Args& args, std::ostream& out, std::ostream& err);
int DemoCommand(const Args& args, std::ostream& out, std::ostream& err);
int ServeCommand(const Args& args, std::ostream& out, std::ostream& err);
int ScheduleCommand(const Args& args, std::ostream& out, std::ostream& err);
int TokenCommand(const Args& args, std::ostream& out, std::ostream& err);

}  // namespace dw::cli
