// The three completion scripts. Each is plain text made from the model: the
// shell does the matching, mldeploy only says which words exist where.
#include "cmd/completion_script.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::cmd {
namespace {

// CLI11 writes an IsMember check into the type name: "TEXT:{text,json}".
std::vector<std::string> choices_in(const std::string& type_name) {
    const auto open = type_name.find('{');
    const auto close = type_name.find('}', open);
    if (open == std::string::npos || close == std::string::npos) return {};
    std::vector<std::string> out;
    std::string word;
    for (const char c : type_name.substr(open + 1, close - open - 1)) {
        if (c == ',') {
            out.push_back(word);
            word.clear();
        } else if (c != ' ') {
            word += c;
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

CompletionOption read_option(const CLI::Option& o) {
    CompletionOption c;
    const bool positional = o.get_positional() && !o.nonpositional();
    if (positional) {
        c.names = {o.get_name(true)};
    } else {
        for (const auto& s : o.get_snames()) c.names.push_back("-" + s);
        for (const auto& l : o.get_lnames()) c.names.push_back("--" + l);
    }
    c.description = o.get_description();
    c.takes_value = positional || o.get_expected_max() != 0;  // flags expect 0 values
    c.choices = choices_in(o.get_type_name());
    const auto& first = c.names.front();
    if (!c.choices.empty())
        c.kind = ValueKind::choices;
    else if (o.get_type_name() == "PATH" || first.find("FILE") != std::string::npos)
        c.kind = ValueKind::file;
    else if (first == "SERVICE")
        c.kind = ValueKind::service;
    return c;
}

void read_options(const CLI::App& app, std::vector<CompletionOption>& options,
                  std::vector<CompletionOption>* positionals) {
    for (const auto* o : app.get_options()) {
        auto c = read_option(*o);
        if (o->nonpositional())
            options.push_back(std::move(c));
        else if (positionals)
            positionals->push_back(std::move(c));
    }
}

bool shares_a_name(const CompletionOption& a, const std::vector<CompletionOption>& others) {
    return std::ranges::any_of(others, [&](const CompletionOption& b) {
        return std::ranges::find_first_of(a.names, b.names) != a.names.end();
    });
}

// A global option's names that a command does not take for one of its own
// (`logs -f` is --follow, not --file).
std::vector<std::string> global_names_in(const CompletionCommand& c, const CompletionOption& g) {
    std::vector<std::string> out;
    for (const auto& n : g.names)
        if (std::ranges::none_of(
                c.options, [&](const CompletionOption& o) { return std::ranges::find(o.names, n) != o.names.end(); }))
            out.push_back(n);
    return out;
}

std::string join(const std::vector<std::string>& words, std::string_view sep = " ") {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += sep;
        out += w;
    }
    return out;
}

std::string value_word(const CompletionOption& o) {
    switch (o.kind) {
        case ValueKind::file:
            return "file";
        case ValueKind::service:
            return "service";
        case ValueKind::choices:
            return "choices:" + join(o.choices);
        case ValueKind::none:
            break;
    }
    return "none";
}

// bash: one case label per option name, per command ("logs -f") then global ("* -f").
std::string bash_value_case(const CompletionModel& m) {
    std::string out;
    auto add = [&](const std::string& label_prefix, const CompletionOption& o) {
        std::vector<std::string> labels;
        for (const auto& n : o.names) labels.push_back(fmt::format("\"{} {}\"", label_prefix, n));
        out += fmt::format("        {}) {} ;;\n", join(labels, "|"),
                           o.takes_value ? "echo '" + value_word(o) + "'" : std::string("return 1"));
    };
    for (const auto& c : m.commands)
        for (const auto& o : c.options) add(c.name, o);
    for (const auto& g : m.globals) {
        std::vector<std::string> labels;
        for (const auto& n : g.names) labels.push_back(fmt::format("*\" {}\"", n));
        out += fmt::format("        {}) {} ;;\n", join(labels, "|"),
                           g.takes_value ? "echo '" + value_word(g) + "'" : std::string("return 1"));
    }
    return out;
}

std::string bash_options_case(const CompletionModel& m) {
    std::vector<std::string> globals;
    for (const auto& g : m.globals) globals.insert(globals.end(), g.names.begin(), g.names.end());
    std::string out = fmt::format("        '') echo '{}' ;;\n", join(globals));
    for (const auto& c : m.commands) {
        std::vector<std::string> words;
        for (const auto& o : c.options) words.insert(words.end(), o.names.begin(), o.names.end());
        for (const auto& g : m.globals) {
            const auto names = global_names_in(c, g);
            words.insert(words.end(), names.begin(), names.end());
        }
        out += fmt::format("        {}) echo '{}' ;;\n", c.name, join(words));
    }
    return out;
}

std::string bash_positional_case(const CompletionModel& m) {
    std::string out;
    for (const auto& c : m.commands)
        if (!c.positionals.empty())
            out += fmt::format("        {}) echo '{}' ;;\n", c.name, value_word(c.positionals[0]));
    return out;
}

std::vector<std::string> command_names(const CompletionModel& m) {
    std::vector<std::string> out;
    for (const auto& c : m.commands) out.push_back(c.name);
    return out;
}

std::string zsh_quote(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '\'')
            out += "'\\''";
        else if (c == '[' || c == ']')
            out += std::string("\\") + c;
        else
            out += c;
    }
    return out;
}

std::string zsh_action(const CompletionOption& o) {
    switch (o.kind) {
        case ValueKind::file:
            return "_files";
        case ValueKind::service:
            return "_mldeploy_services";
        case ValueKind::choices:
            return "(" + join(o.choices) + ")";
        case ValueKind::none:
            break;
    }
    return " ";
}

std::string zsh_spec(const std::vector<std::string>& names, const CompletionOption& o) {
    const auto& name = o.names.back();
    const auto message = name.substr(name.find_first_not_of('-'));
    const auto value = o.takes_value ? fmt::format(":{}:{}", message, zsh_action(o)) : std::string();
    const auto desc = zsh_quote(o.description);
    if (names.size() == 1) return fmt::format("'{}[{}]{}'", names[0], desc, zsh_quote(value));
    return fmt::format("'({})'{{{}}}'[{}]{}'", join(names), join(names, ","), desc, zsh_quote(value));
}

std::string fish_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string fish_option(const std::string& condition, const std::vector<std::string>& names,
                        const CompletionOption& o) {
    std::string line = "complete -c mldeploy";
    if (!condition.empty()) line += " -n " + fish_quote(condition);
    for (const auto& n : names) line += n.starts_with("--") ? " -l " + n.substr(2) : " -s " + n.substr(1);
    if (o.takes_value) {
        switch (o.kind) {
            case ValueKind::file:
                line += " -r -F";
                break;
            case ValueKind::service:
                line += " -x -a '(__mldeploy_services)'";
                break;
            case ValueKind::choices:
                line += " -x -a " + fish_quote(join(o.choices));
                break;
            case ValueKind::none:
                line += " -x";
                break;
        }
    }
    return line + " -d " + fish_quote(o.description) + "\n";
}

}  // namespace

CompletionModel completion_model(const CLI::App& root) {
    CompletionModel m;
    m.program = root.get_name();
    read_options(root, m.globals, nullptr);
    // A hidden command (group "": `agent`) is mldeploy's own, not the user's.
    for (const auto* sub : root.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) {
        CompletionCommand c{sub->get_name(), sub->get_description(), {}, {}};
        read_options(*sub, c.options, &c.positionals);
        m.commands.push_back(std::move(c));
    }
    return m;
}

std::string bash_completion(const CompletionModel& m) {
    return fmt::format(R"SH(# bash completion for mldeploy, written by `mldeploy completion bash` from
# the command table of mldeploy {version}. Load it with: source <(mldeploy completion bash)

# What the word after option $2 of command $1 ('' before the command) is:
# file, service, none or choices:WORDS. Status 1: $2 takes no value.
_mldeploy_value() {{
    case "$1 $2" in
{value_case}        *) return 1 ;;
    esac
}}

# The options command $1 takes ('' before the command), its own and the global ones.
_mldeploy_options() {{
    case "$1" in
{options_case}    esac
}}

# What command $1's positional argument is.
_mldeploy_positional() {{
    case "$1" in
{positional_case}        *) echo none ;;
    esac
}}

# The services of the stack file (-f/--file on the line, else ./stack.toml).
_mldeploy_services() {{
    "${{COMP_WORDS[0]}}" ${{1:+--file "$1"}} config 2>/dev/null |
        sed -n 's/^\[services\.\([A-Za-z0-9_-]*\)\]$/\1/p'
}}

_mldeploy_complete() {{   # KIND CUR STACK_FILE
    case "$1" in
        file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
        service) COMPREPLY=($(compgen -W "$(_mldeploy_services "$3")" -- "$2")) ;;
        choices:*) COMPREPLY=($(compgen -W "${{1#choices:}}" -- "$2")) ;;
        *) COMPREPLY=() ;;
    esac
}}

_mldeploy() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} cmd='' file='' kind w i
    local commands='{commands}'
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${{COMP_WORDS[i]}}
        if [[ $w == -* ]]; then
            kind=$(_mldeploy_value "$cmd" "$w") || continue
            if ((i + 1 == COMP_CWORD)); then
                _mldeploy_complete "$kind" "$cur" "$file"
                return
            fi
            [[ $kind == file && ($w == -f || $w == --file) ]] && file=${{COMP_WORDS[i + 1]}}
            ((i++))
        elif [[ -z $cmd && " $commands " == *" $w "* ]]; then
            cmd=$w
        fi
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_mldeploy_options "$cmd")" -- "$cur"))
    elif [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    else
        _mldeploy_complete "$(_mldeploy_positional "$cmd")" "$cur" "$file"
    fi
}}

complete -F _mldeploy mldeploy
)SH",
                       fmt::arg("version", MLDEPLOY_VERSION), fmt::arg("value_case", bash_value_case(m)),
                       fmt::arg("options_case", bash_options_case(m)),
                       fmt::arg("positional_case", bash_positional_case(m)),
                       fmt::arg("commands", join(command_names(m))));
}

std::string zsh_completion(const CompletionModel& m) {
    std::string globals;
    for (const auto& g : m.globals) globals += "        " + zsh_spec(g.names, g) + "\n";
    std::string commands;
    for (const auto& c : m.commands) commands += fmt::format("        '{}:{}'\n", c.name, zsh_quote(c.description));
    std::string cases;
    for (const auto& c : m.commands) {
        std::string specs;
        for (const auto& o : c.options) specs += " \\\n                " + zsh_spec(o.names, o);
        for (const auto& g : m.globals) {
            const auto names = global_names_in(c, g);
            if (!names.empty()) specs += " \\\n                " + zsh_spec(names, g);
        }
        for (const auto& p : c.positionals)
            specs += fmt::format(" \\\n                '{}:{}:{}'", p.kind == ValueKind::choices ? "" : ":", p.names[0],
                                 zsh_quote(zsh_action(p)));
        cases += fmt::format("        ({})\n            _arguments{} ;;\n", c.name, specs);
    }
    return fmt::format(R"SH(#compdef mldeploy
# zsh completion for mldeploy, written by `mldeploy completion zsh` from the
# command table of mldeploy {version}. Install it as _mldeploy in a folder of $fpath.

_mldeploy_services() {{
    local -a services
    services=(${{(f)"$(mldeploy config 2>/dev/null | sed -n 's/^\[services\.\([A-Za-z0-9_-]*\)\]$/\1/p')"}})
    _describe service services
}}

_mldeploy_commands() {{
    local -a commands
    commands=(
{commands}    )
    _describe command commands
}}

_mldeploy() {{
    local curcontext=$curcontext state line
    local -a globals
    globals=(
{globals}    )
    _arguments -C $globals '1: :_mldeploy_commands' '*:: :->args'
    [[ $state == args ]] || return
    case $words[1] in
{cases}    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _mldeploy "$@"
else
    compdef _mldeploy mldeploy
fi
)SH",
                       fmt::arg("version", MLDEPLOY_VERSION), fmt::arg("commands", commands),
                       fmt::arg("globals", globals), fmt::arg("cases", cases));
}

std::string fish_completion(const CompletionModel& m) {
    std::string out = fmt::format(
        "# fish completion for mldeploy, written by `mldeploy completion fish` from the\n"
        "# command table of mldeploy {}. Load it with: mldeploy completion fish | source\n\n"
        "# The services of the stack file given with --file (or -f, but for logs), else of ./stack.toml.\n"
        "function __mldeploy_services\n"
        "    set -l tokens (commandline -opc)\n"
        "    set -l file\n"
        "    set -l prev\n"
        "    for t in $tokens[2..-1]\n"
        "        if test \"$prev\" = --file; or begin; test \"$prev\" = -f; and not contains -- logs $tokens; end\n"
        "            set file --file $t\n"
        "        end\n"
        "        set prev $t\n"
        "    end\n"
        "    $tokens[1] $file config 2>/dev/null | string replace -rf '^\\[services\\.([A-Za-z0-9_-]+)\\]$' '$1'\n"
        "end\n\n"
        "complete -c mldeploy -f\n",
        MLDEPLOY_VERSION);
    for (const auto& c : m.commands)
        out += fmt::format("complete -c mldeploy -n __fish_use_subcommand -a {} -d {}\n", c.name,
                           fish_quote(c.description));
    for (const auto& g : m.globals) {
        // Only where no command takes one of its names for its own option.
        std::vector<std::string> shadowing;
        for (const auto& c : m.commands)
            if (shares_a_name(g, c.options)) shadowing.push_back(c.name);
        if (shadowing.empty()) {
            out += fish_option("", g.names, g);
        } else {
            out += fish_option("not __fish_seen_subcommand_from " + join(shadowing), g.names, g);
            for (const auto& c : m.commands)
                if (shares_a_name(g, c.options))
                    if (const auto names = global_names_in(c, g); !names.empty())
                        out += fish_option("__fish_seen_subcommand_from " + c.name, names, g);
        }
    }
    for (const auto& c : m.commands) {
        const auto when = "__fish_seen_subcommand_from " + c.name;
        for (const auto& o : c.options) out += fish_option(when, o.names, o);
        for (const auto& p : c.positionals) {
            if (p.kind == ValueKind::choices)
                out += fmt::format("complete -c mldeploy -n {} -a {}\n", fish_quote(when), fish_quote(join(p.choices)));
            else if (p.kind == ValueKind::service)
                out += fmt::format("complete -c mldeploy -n {} -a '(__mldeploy_services)'\n", fish_quote(when));
            else if (p.kind == ValueKind::file)
                out += fmt::format("complete -c mldeploy -n {} -F\n", fish_quote(when));
        }
    }
    return out;
}

}  // namespace mldeploy::cmd
