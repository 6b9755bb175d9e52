#include "userspace/audit/text_line.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string_view>

#include "userspace/cli/printable.h"

namespace jvmwatch::audit {

namespace {

using nlohmann::json;

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

// Caps, in bytes of escaped text, of the fields another process controls.
constexpr size_t kNameCap = 32;      // comm, exe base name, user
constexpr size_t kMainCap = 80;      // main class, jar, module
constexpr size_t kArgCap = 64;       // one attach argument
constexpr size_t kArgsCap = 200;     // all of them
constexpr size_t kDetailCap = 160;   // replies, errors, details
constexpr size_t kPathCap = 120;     // config, agent and log paths
constexpr size_t kWordCap = 40;      // enum-like words (reasons, outcomes, rule names)
constexpr size_t kTypeWidth = 14;    // the type column

// printable() keeps every valid non-control character; a line for a terminal also
// escapes those that move or reorder text: U+2028/2029 (line/paragraph separator), the
// bidi embeddings and overrides U+202A..202E and isolates U+2066..2069 (a hostile name
// could otherwise make a line read differently from what it holds).
std::string reorder_escaped(std::string piece) {
    if (piece.size() != 3 || static_cast<unsigned char>(piece[0]) != 0xE2) return piece;
    unsigned b1 = static_cast<unsigned char>(piece[1]), b2 = static_cast<unsigned char>(piece[2]);
    unsigned cp = 0x2000 + ((b1 & 0x3F) << 6) + (b2 & 0x3F);
    if ((cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
        return buf;
    }
    return piece;
}

// `s` escaped by cli::printable, cut to `cap` bytes (ending in "…" when cut).  Escapes
// one character at a time, so a cut never splits an escape or a character, and a huge
// string costs only what is shown.
std::string bounded(std::string_view s, size_t cap) {
    cap = std::max(cap, kEllipsis.size());
    std::string out;
    size_t keep = 0;   // length of out at the last character boundary that leaves room for "…"
    for (size_t i = 0; i < s.size();) {
        // A lead byte and the continuation bytes after it: printable() decides the same
        // for this piece as for the whole string.
        size_t n = 1;
        while (n < 4 && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
        std::string piece = reorder_escaped(cli::printable(s.substr(i, n)));
        if (out.size() + piece.size() > cap) {
            out.resize(keep);
            out += kEllipsis;
            return out;
        }
        out += piece;
        if (out.size() + kEllipsis.size() <= cap) keep = out.size();
        i += n;
    }
    return out;
}

const json* field(const json& o, const char* key) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
}

std::string_view str(const json& o, const char* key) {
    const json* f = field(o, key);
    return f && f->is_string() ? std::string_view(f->get_ref<const std::string&>()) : std::string_view();
}

std::optional<int64_t> integer(const json& o, const char* key) {
    const json* f = field(o, key);
    if (f && f->is_number_integer()) return f->get<int64_t>();
    return std::nullopt;
}

std::optional<double> number(const json& o, const char* key) {
    const json* f = field(o, key);
    if (f && f->is_number()) return f->get<double>();
    return std::nullopt;
}

bool flag(const json& o, const char* key) {
    const json* f = field(o, key);
    return f && f->is_boolean() && f->get<bool>();
}

const json& object(const json& o, const char* key) {
    static const json empty = json::object();
    const json* f = field(o, key);
    return f && f->is_object() ? *f : empty;
}

std::string int_or_unknown(std::optional<int64_t> v) { return v ? std::to_string(*v) : "?"; }

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "2026-11-21T14:18:13.123456789Z" (or +HH:MM) -> "14:18:13.123" in local time or UTC.
std::string time_of_day(std::string_view t, bool utc) {
    const std::string unknown = "??:??:??.???";
    auto digits = [&](size_t pos, size_t n, int* v) {
        if (pos + n > t.size()) return false;
        *v = 0;
        for (size_t k = 0; k < n; ++k) {
            char c = t[pos + k];
            if (c < '0' || c > '9') return false;
            *v = *v * 10 + (c - '0');
        }
        return true;
    };
    int Y, M, D, h, m, s;
    if (!digits(0, 4, &Y) || !digits(5, 2, &M) || !digits(8, 2, &D) || !digits(11, 2, &h) ||
        !digits(14, 2, &m) || !digits(17, 2, &s) || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
        t[13] != ':' || t[16] != ':')
        return unknown;
    size_t pos = 19;
    int ms = 0, scale = 100;
    if (pos < t.size() && t[pos] == '.') {
        for (++pos; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos) {
            ms += (t[pos] - '0') * scale;
            scale /= 10;
        }
    }
    long offset_s = 0;
    if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        int oh, om;
        if (!digits(pos + 1, 2, &oh) || !digits(pos + 4, 2, &om)) return unknown;
        offset_s = (oh * 60L + om) * 60L * (t[pos] == '-' ? -1 : 1);
    } else if (pos >= t.size() || t[pos] != 'Z') {
        return unknown;
    }
    struct tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    time_t when = timegm(&tm) - offset_s;
    struct tm out{};
    if (!(utc ? gmtime_r(&when, &out) : localtime_r(&when, &out))) return unknown;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", out.tm_hour, out.tm_min, out.tm_sec, ms);
    return buf;
}

// The line under construction.  Our own words go in as they are (ASCII, no backslash);
// everything from the event goes through bounded().
class Line {
public:
    Line& lit(std::string_view s) { s_ += s; return *this; }
    Line& text(std::string_view s, size_t cap) { s_ += bounded(s, cap); return *this; }
    Line& sep() { s_ += "  "; return *this; }

    // A process as "comm[pid] user", with its container when in one.
    Line& process(const json& p) {
        std::string_view name = str(p, "comm");
        if (name.empty()) name = base_name(str(p, "exe"));
        text(name.empty() ? "?" : name, kNameCap).lit("[").lit(int_or_unknown(integer(p, "pid"))).lit("]");
        return owner(p);
    }

    // A JVM (or what is known of an attach target) as "java[pid] user main".
    Line& jvm(const json& j) {
        std::string_view name = base_name(str(j, "exe"));
        text(name.empty() ? "jvm" : name, kNameCap);
        if (auto pid = integer(j, "pid")) {
            lit("[").lit(std::to_string(*pid)).lit("]");
        } else {
            lit("[nspid ").lit(int_or_unknown(integer(j, "nspid"))).lit("]");
        }
        if (str(j, "resolved_by") == "unresolved") lit(" (pid unresolved)");
        if (field(j, "user") || field(j, "uid")) owner(j);
        if (!str(j, "main").empty()) lit(" ").text(str(j, "main"), kMainCap);
        return *this;
    }

    std::string take() { return std::move(s_); }
    size_t size() const { return s_.size(); }

private:
    Line& owner(const json& p) {
        if (!str(p, "user").empty()) lit(" ").text(str(p, "user"), kNameCap);
        else lit(" uid ").lit(int_or_unknown(integer(p, "uid")));
        std::string_view ctr = str(p, "container_id");
        if (!ctr.empty()) lit(" ctr ").text(ctr.substr(0, 12), kNameCap);
        return *this;
    }
    std::string s_;
};

// Cut to max bytes at a token boundary (an escape, a UTF-8 character), ending in "…".
// The line holds our ASCII and printable() output only: a backslash always starts an
// escape (\\ \n \t \r: 2 bytes, \xNN: 4, \uNNNN: 6) and every byte >= 0x80 belongs to a
// valid UTF-8 character.
std::string cut(std::string s, size_t max) {
    if (s.size() <= max) return s;
    size_t limit = max - kEllipsis.size(), keep = 0;
    while (keep < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[keep]);
        size_t n = 1;
        if (c == '\\' && keep + 1 < s.size()) n = s[keep + 1] == 'x' ? 4 : s[keep + 1] == 'u' ? 6 : 2;
        else if (c >= 0xF0) n = 4;
        else if (c >= 0xE0) n = 3;
        else if (c >= 0xC0) n = 2;
        if (keep + n > limit) break;
        keep += n;
    }
    s.resize(keep);
    s += kEllipsis;
    return s;
}

void attach_what(Line& l, const json& ev) {
    if (field(ev, "operation")) {
        std::string_view op = str(ev, "operation");
        l.text(op.empty() ? "\"\"" : op, kWordCap);
        // All arguments together within kArgsCap: each capped, then the rest elided.
        const json* args = field(ev, "args");
        size_t used = 0;
        if (args && args->is_array()) {
            for (const auto& a : *args) {
                std::string one = a.is_string() ? bounded(a.get_ref<const std::string&>(), kArgCap) : "?";
                if (one.empty()) one = "\"\"";
                if (used + one.size() + 1 > kArgsCap) {
                    l.lit(" ").lit(kEllipsis);
                    break;
                }
                l.lit(" ").lit(one);   // already escaped
                used += one.size() + 1;
            }
        }
        if (field(ev, "options") && !str(ev, "options").empty())
            l.lit(" options=").text(str(ev, "options"), kWordCap);
        if (field(ev, "request_complete") && !flag(ev, "request_complete")) l.lit(" (request incomplete)");
    } else {
        // Default mode sees no request bytes: say what was seen instead.
        std::string seen;
        for (const char* k : {"trigger", "sigquit", "connect", "request", "reply", "close"})
            if (flag(object(ev, "evidence"), k)) seen += std::string(seen.empty() ? "" : "+") + k;
        l.lit("op not seen (").lit(seen.empty() ? "no evidence" : seen).lit(")");
    }
}

void rule_and_self(Line& l, const json& ev) {
    if (!str(ev, "rule").empty()) l.lit(" rule=").text(str(ev, "rule"), kWordCap);
    if (flag(ev, "self")) l.lit(" self");
    if (flag(ev, "alias")) l.lit(" ALIAS");           // reached the socket by another name
    if (flag(ev, "self_attach")) l.lit(" SELF-ATTACH");
}

void format_attach(Line& l, const json& ev) {
    l.process(object(ev, "attacher")).lit(" -> ").jvm(object(ev, "target")).sep();
    attach_what(l, ev);
    rule_and_self(l, ev);
    l.sep().lit("=> ").text(str(ev, "outcome").empty() ? "?" : str(ev, "outcome"), kWordCap);
    if (auto rc = integer(ev, "result_code")) l.lit(" rc=").lit(std::to_string(*rc));
    if (!str(ev, "reply").empty()) l.lit(" reply=\"").text(str(ev, "reply"), kDetailCap).lit("\"");
    l.lit(" (").text(str(ev, "finalized_by").empty() ? "?" : str(ev, "finalized_by"), kWordCap);
    if (auto ms = number(ev, "duration_ms")) l.lit(", ").lit(fixed(*ms, 2)).lit(" ms");
    if (auto n = integer(ev, "connects"); n && *n > 1) l.lit(", ").lit(std::to_string(*n)).lit(" connects");
    l.lit(")");
}

void agent_what(Line& l, const json& agent) {
    l.text(str(agent, "kind").empty() ? "?" : str(agent, "kind"), kWordCap).lit(":")
        .text(str(agent, "path"), kPathCap);
    if (!str(agent, "options").empty()) l.lit("=").text(str(agent, "options"), kWordCap);
}

void format_agent_load(Line& l, const json& ev) {
    l.jvm(object(ev, "jvm")).sep().lit("agent ");
    agent_what(l, object(ev, "agent"));
    l.sep().lit("from ").text(str(ev, "origin").empty() ? "?" : str(ev, "origin"), kWordCap);
    if (auto p = integer(ev, "attacher_pid")) l.lit(" pid ").lit(std::to_string(*p));
    if (!str(ev, "dcmd").empty()) l.lit(" \"").text(str(ev, "dcmd"), kDetailCap).lit("\"");
    if (flag(ev, "first_dynamic_agent")) l.lit(", first");
    const json& art = object(ev, "artifact");
    if (!str(art, "sha256").empty()) l.sep().lit("sha256 ").text(str(art, "sha256").substr(0, 12), kWordCap);
    else if (!str(art, "why").empty()) l.sep().lit("not hashed: ").text(str(art, "why"), kDetailCap);
}

void format_alert(Line& l, const json& ev) {
    std::string sev(str(ev, "severity"));
    for (auto& c : sev) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    l.text(sev.empty() ? "?" : sev, kWordCap).lit(" ").text(str(ev, "rule"), kWordCap).sep();
    l.text(str(ev, "summary"), kDetailCap);
    if (auto n = integer(ev, "held_back")) l.lit(" (+").lit(std::to_string(*n)).lit(" held back)");
}

void format_jvm_dcmd(Line& l, const json& ev) {
    l.jvm(object(ev, "jvm")).sep().lit("dcmd from ").text(str(ev, "source").empty() ? "?" : str(ev, "source"), kWordCap);
    l.lit(" \"").text(str(ev, "command"), kDetailCap).lit("\"");
}

void format_thread_dump(Line& l, const json& ev) {
    l.process(object(ev, "sender")).lit(" -> ").jvm(object(ev, "target")).sep().lit("SIGQUIT");
    rule_and_self(l, ev);
    auto r = integer(ev, "signal_result");
    l.sep().lit("=> ").lit(!r || *r == 0 ? "thread dump" : "signal result " + std::to_string(*r));
}

void format_jvm_start(Line& l, const json& ev) {
    const json& j = object(ev, "jvm");
    l.jvm(j);
    if (!str(j, "jdk_version").empty()) l.lit(" jdk ").text(str(j, "jdk_version"), kWordCap);
    l.sep().lit("by ").text(str(ev, "detected_by").empty() ? "?" : str(ev, "detected_by"), kWordCap);
    if (flag(ev, "existing")) l.lit(", running before the daemon");
    if (const json* agents = field(j, "agents"); agents && agents->is_array() && !agents->empty())
        l.sep().lit(std::to_string(agents->size())).lit(agents->size() == 1 ? " agent" : " agents");
    const json& en = object(ev, "enrichment");
    if (field(ev, "enrichment")) {
        l.sep().lit("incomplete: ").text(str(en, "reason").empty() ? "?" : str(en, "reason"), kWordCap);
        const json* missing = field(en, "missing");
        if (missing && missing->is_array() && !missing->empty()) {
            l.lit(", missing");
            size_t n = 0;
            for (const auto& m : *missing) {
                if (++n > 8) { l.lit(" ").lit(kEllipsis); break; }
                l.lit(" ").text(m.is_string() ? m.get_ref<const std::string&>() : "?", kWordCap);
            }
        }
    }
}

void format_jvm_exit(Line& l, const json& ev) {
    l.jvm(object(ev, "jvm")).sep();
    if (auto c = integer(ev, "exit_code")) l.lit("=> exit ").lit(std::to_string(*c));
    else if (auto s = integer(ev, "signal")) l.lit("=> killed by signal ").lit(std::to_string(*s));
    else l.lit("=> gone (exit status unknown)");
    if (auto ms = number(ev, "lifetime_ms")) l.lit(" after ").lit(fixed(*ms / 1000.0, 1)).lit(" s");
}

// "name=value" for the non-zero counters of `o` (at most 8), or "none".
void nonzero_counters(Line& l, const json& o) {
    size_t shown = 0;
    if (o.is_object()) {
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (!it.value().is_number_integer() || it.value().get<int64_t>() == 0) continue;
            if (++shown > 8) { l.lit(" ").lit(kEllipsis); break; }
            l.lit(" ").text(it.key(), kWordCap).lit("=").lit(std::to_string(it.value().get<int64_t>()));
        }
    }
    if (!shown) l.lit(" none");
}

void format_stats(Line& l, const json& ev) {
    if (flag(ev, "final")) l.lit("final, ");
    l.lit("up ").lit(fixed(number(ev, "uptime_s").value_or(0), 0)).lit(" s");
    const json& tables = object(ev, "tables");
    l.sep().lit("jvms ").lit(int_or_unknown(integer(tables, "jvms")));
    l.lit(", processes ").lit(int_or_unknown(integer(tables, "processes")));
    l.lit(", kernel events ").lit(int_or_unknown(integer(object(ev, "kernel"), "events")));
    l.sep().lit("drops:");
    nonzero_counters(l, object(ev, "drops"));
    l.sep().lit("evictions:");
    nonzero_counters(l, object(ev, "evictions"));
}

void format_inject(Line& l, const json& ev, std::string_view type) {
    l.lit("jvmwatchd -> ").jvm(object(ev, "jvm"));
    l.sep().lit("rule=").text(str(ev, "rule").empty() ? "-" : str(ev, "rule"), kWordCap);
    const json& agent = object(ev, "agent");
    if (field(ev, "agent")) {
        l.lit(" agent=").text(str(agent, "kind"), kWordCap).lit(":").text(str(agent, "path"), kPathCap);
        if (!str(agent, "options").empty()) l.lit("=").text(str(agent, "options"), kWordCap);
    }
    l.sep().lit("=> ");
    if (type == "inject.matched") {
        l.lit("matched");
        if (flag(ev, "existing")) l.lit(", running before the daemon");
        if (flag(ev, "dry_run")) l.lit(", dry run");
    } else if (type == "inject.ok") {
        l.lit("loaded");
        if (auto ms = number(ev, "attach_ms")) l.lit(" in ").lit(fixed(*ms, 1)).lit(" ms");
        if (auto n = integer(ev, "attempts"); n && *n > 1) l.lit(", attempt ").lit(std::to_string(*n));
        if (flag(ev, "staged")) l.lit(", staged");
    } else if (type == "inject.failed") {
        l.lit("failed: ").text(str(ev, "outcome").empty() ? "?" : str(ev, "outcome"), kWordCap);
        if (auto n = integer(ev, "attempts")) l.lit(" after ").lit(std::to_string(*n)).lit(" attempt(s)");
    } else {  // inject.skipped
        l.lit("skipped: ").text(str(ev, "reason").empty() ? "?" : str(ev, "reason"), kWordCap);
    }
    if (!str(ev, "detail").empty()) l.lit(" \"").text(str(ev, "detail"), kDetailCap).lit("\"");
}

void format_daemon(Line& l, const json& ev, std::string_view type) {
    if (type == "daemon.reload") {
        l.lit("config ").text(str(ev, "config"), kPathCap).sep();
        if (flag(ev, "ok")) l.lit("=> reloaded");
        else l.lit("=> refused, running config kept: ").text(str(ev, "error"), kDetailCap);
        return;
    }
    l.lit("jvmwatchd[").lit(int_or_unknown(integer(ev, "pid"))).lit("]");
    if (type == "daemon.start") {
        l.lit(" ").text(str(ev, "version"), kWordCap).sep();
        l.lit("config ").text(str(ev, "config"), kPathCap);
        l.lit(", stream ").text(str(ev, "audit_log").empty() ? "-" : str(ev, "audit_log"), kPathCap);
        if (flag(ev, "deep")) l.lit(", deep");
        l.sep().lit("=> watching, ").lit(int_or_unknown(integer(ev, "jvms_running"))).lit(" JVM(s) running");
    } else {
        l.sep().lit("=> stopped by ").text(str(ev, "reason").empty() ? "?" : str(ev, "reason"), kWordCap);
        if (auto up = number(ev, "uptime_s")) l.lit(" after ").lit(fixed(*up, 1)).lit(" s");
    }
}

}  // namespace

std::string to_text_line(const json& ev, const TextLineOptions& opts) {
    Line l;
    l.lit(time_of_day(str(ev, "time"), opts.utc)).lit(" ");
    std::string_view type = str(ev, "type");
    std::string shown = bounded(type.empty() ? "?" : type, 32);
    l.lit(shown);
    // Pad the type column (the bounded name is printable: its bytes are its width,
    // near enough for alignment).
    l.lit(std::string(shown.size() < kTypeWidth ? kTypeWidth - shown.size() : 0, ' ')).lit(" ");

    if (type == "attach") format_attach(l, ev);
    else if (type == "thread_dump_request") format_thread_dump(l, ev);
    else if (type == "jvm.start") format_jvm_start(l, ev);
    else if (type == "jvm.exit") format_jvm_exit(l, ev);
    else if (type == "stats") format_stats(l, ev);
    else if (type == "agent.load") format_agent_load(l, ev);
    else if (type == "jvm.dcmd") format_jvm_dcmd(l, ev);
    else if (type == "alert") format_alert(l, ev);
    else if (type == "inject.matched" || type == "inject.ok" || type == "inject.failed" ||
             type == "inject.skipped")
        format_inject(l, ev, type);
    else if (type == "daemon.start" || type == "daemon.stop" || type == "daemon.reload") format_daemon(l, ev, type);
    else l.lit("(event type unknown to this version, ").lit(std::to_string(ev.is_object() ? ev.size() : 0)).lit(" fields)");

    return cut(l.take(), std::max<size_t>(opts.max_bytes, 64));
}

}  // namespace jvmwatch::audit
