/*
 * backfill run BRIEF --warehouse DB [--ledger FILE] [--workers N]
 *                    [--throttle-sql QUERY] [--on-event CMD [--on-event-timeout S]]
 *                    [--new] [--force] [--no-wait]
 *
 * Starts or resumes the run of the brief through bf_runner and returns when
 * the run awaits approval (exit 0), is paused, cancelled or stopped (4),
 * was stopped by a failed validation or a changed target (3), or failed.
 * On a terminal a live progress line; otherwise one line per event.
 * SIGINT and SIGTERM stop claiming: batches in flight finish, and `run`
 * again resumes. A second signal leaves at once (leases then run out, and
 * a later run on this host takes them back at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static bf_runner *running;
static volatile sig_atomic_t signals_seen;

static volatile sig_atomic_t signal_tty; /* a progress line may be open on the terminal */

/* What a second signal says, on stderr and (under --json) as the error object's "error". */
#define LEAVING "run: leaving at once: the batches in flight are taken back by the next " \
                "`backfill run` on this host (or elsewhere when their leases run out)"

/*
 * Under --json, the error object a second signal prints, made before the
 * handler is installed: the handler cannot format or allocate, only write.
 */
static char *leaving_json;
static size_t leaving_json_len;

/* Write all of it, from the handler: write(2) is async-signal-safe, stdio is not. */
static void write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

static void say(const char *text)
{
    if (signal_tty)
        write_all(2, "\n", 1);
    write_all(2, text, strlen(text));
}

static void on_signal(int sig)
{
    (void)sig;
    if (++signals_seen > 1) {
        say("backfill: " LEAVING "\n");
        if (leaving_json)
            write_all(1, leaving_json, leaving_json_len);
        _exit(130);
    }
    say("backfill: run: stopping: no new batch is claimed and the batches in flight finish; "
        "interrupt again to leave at once\n");
    bf_runner_stop(running);
}

struct run_ui {
    int tty;
    const char *on_event;
    long long hook_timeout_s; /* --on-event-timeout */
    int line_open; /* a progress line is on the terminal without its newline */
    int64_t batches_done;
    sqlite3 *throttle_db;
    const char *throttle_sql;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for the hook until `deadline` (monotonic seconds); 1 when it ended. */
static int reap(pid_t pid, int *status, double deadline)
{
    struct timespec tick = {0, 10 * 1000 * 1000};

    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);

        if (w == pid || (w < 0 && errno != EINTR))
            return 1;
        if (now_s() >= deadline)
            return 0;
        nanosleep(&tick, NULL);
    }
}

/*
 * Run the host's command with the event on its standard input, in a process
 * group of its own so that a command that does not finish in time (a
 * webhook that hangs) is stopped with everything it started: SIGTERM, then
 * SIGKILL a second later. The run goes on either way.
 */
static void hook(const struct run_ui *ui, const bf_run_event *ev)
{
    int fds[2];
    pid_t pid;
    int status = 0;
    size_t len = strlen(ev->json);

    if (pipe(fds) != 0)
        return;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", ui->on_event, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    if (pid > 0) {
        const char *p = ev->json;
        size_t left = len;
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        double deadline;

        setpgid(pid, pid); /* as the child does: whichever runs first */
        deadline = now_s() + (double)ui->hook_timeout_s;
        while (left) {
            ssize_t n = write(fds[1], p, left);

            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
        if (write(fds[1], "\n", 1) < 0) {
            /* the hook did not read its input; it still ran */
        }
        close(fds[1]);
        signal(SIGPIPE, old);
        if (!reap(pid, &status, deadline)) {
            kill(-pid, SIGTERM);
            if (!reap(pid, &status, now_s() + 1)) {
                kill(-pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                }
            }
            fprintf(stderr, "backfill: warning: --on-event command did not finish within %lld s "
                    "for event %s; it was stopped (--on-event-timeout)\n",
                    ui->hook_timeout_s, bf_run_event_name(ev->kind));
            return;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "backfill: warning: --on-event command failed for event %s\n",
                    bf_run_event_name(ev->kind));
    } else {
        close(fds[1]);
    }
}

static int hooked(bf_run_event_kind kind)
{
    switch (kind) {
    case BF_RUN_EVENT_STARTED:
    case BF_RUN_EVENT_THROTTLED:
    case BF_RUN_EVENT_BATCH_FAILED:
    case BF_RUN_EVENT_LEASE_LOST:
    case BF_RUN_EVENT_RESIZED:
    case BF_RUN_EVENT_PAUSED:
    case BF_RUN_EVENT_CANCELLED:
    case BF_RUN_EVENT_FAILED:
    case BF_RUN_EVENT_AWAITING_APPROVAL:
    case BF_RUN_EVENT_APPROVED:
    case BF_RUN_EVENT_ROLLED_BACK:
    case BF_RUN_EVENT_DONE:
    case BF_RUN_EVENT_STOPPED:
        return 1;
    default:
        return 0;
    }
}

static void eta_text(char *out, size_t size, double s)
{
    long long whole = (long long)(s + 0.5);

    if (s < 0)
        snprintf(out, size, "?");
    else if (whole < 90)
        snprintf(out, size, "%llds", whole);
    else if (whole < 5400)
        snprintf(out, size, "%lldm", (whole + 30) / 60);
    else
        snprintf(out, size, "%lldh%02lldm", whole / 3600, (whole % 3600) / 60);
}

static void progress_line(struct run_ui *ui, const bf_progress *p)
{
    char eta[32];
    long long rate = p->elapsed_s > 0 ? (long long)((double)p->rows_written / p->elapsed_s) : 0;

    eta_text(eta, sizeof eta, p->eta_s);
    fprintf(stderr, "\r\033[K%lld/%lld batches  %lld rows  %lld rows/s  ETA %s%s",
            (long long)(p->completed + p->validated), (long long)p->total,
            (long long)p->rows_written, rate, eta,
            p->failed ? "  (failed batches: see backfill status)" : "");
    fflush(stderr);
    ui->line_open = 1;
}

static void on_event(void *userdata, const bf_run_event *ev)
{
    struct run_ui *ui = userdata;
    const bf_progress *p = ev->progress;

    if (ui->on_event && hooked(ev->kind))
        hook(ui, ev);
    if (cli_json)
        return;
    if (ui->tty) {
        if (p && (ev->kind == BF_RUN_EVENT_PROGRESS || ev->kind == BF_RUN_EVENT_BATCH_DONE)) {
            progress_line(ui, p);
            return;
        }
        if (ev->kind == BF_RUN_EVENT_BATCH_STARTED || ev->kind == BF_RUN_EVENT_PROGRESS)
            return;
        if (ui->line_open)
            fputc('\n', stderr);
        ui->line_open = 0;
    }
    switch (ev->kind) {
    case BF_RUN_EVENT_BATCH_STARTED:
    case BF_RUN_EVENT_PROGRESS:
        return;
    case BF_RUN_EVENT_BATCH_DONE:
        /* A batch done without publishing (an earlier run did the same work) says so. */
        if (ev->message && strncmp(ev->message, "batch ", 6) != 0)
            printf("batch %s: %s (%lld/%lld)\n", ev->batch_label, ev->message,
                   p ? (long long)(p->completed + p->validated) : 0LL,
                   p ? (long long)p->total : 0LL);
        else
            printf("batch %s: %lld rows written, %lld deleted in %lld ms (%lld/%lld)\n",
                   ev->batch_label, (long long)ev->rows_written, (long long)ev->rows_deleted,
                   (long long)(ev->duration_s * 1000 + 0.5),
                   p ? (long long)(p->completed + p->validated) : 0LL,
                   p ? (long long)p->total : 0LL);
        break;
    case BF_RUN_EVENT_STARTED:
        printf("run %lld started: %lld batches (%lld done before)\n", (long long)ev->run_id,
               p ? (long long)p->total : 0LL,
               p ? (long long)(p->completed + p->validated) : 0LL);
        break;
    default:
        printf("%s%s%s%s%s\n", bf_run_event_name(ev->kind), ev->batch_label ? " " : "",
               ev->batch_label ? ev->batch_label : "", ev->message ? ": " : "",
               ev->message ? ev->message : "");
        break;
    }
    fflush(stdout);
}

/* --throttle-sql: a non-zero first column of the first row holds new claims. */
static int throttle(void *userdata, char *reason, size_t size)
{
    struct run_ui *ui = userdata;
    sqlite3_stmt *st = NULL;
    int hold = 0, rc;

    rc = sqlite3_prepare_v2(ui->throttle_db, ui->throttle_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(reason, size, "--throttle-sql: %s", sqlite3_errmsg(ui->throttle_db));
        return BF_E_INVALID;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
        sqlite3_column_int64(st, 0) != 0) {
        hold = 1;
        snprintf(reason, size, "the throttle query returned %s: new claims wait",
                 (const char *)sqlite3_column_text(st, 0));
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(reason, size, "--throttle-sql: %s", sqlite3_errmsg(ui->throttle_db));
        hold = BF_E_DRIVER;
    }
    sqlite3_finalize(st);
    return hold;
}

/*
 * --throttle-sql: prepared once against the warehouse (read only) before the
 * run starts, so that a query that does not compile, writes, or is not one
 * statement changes nothing: no ledger, no run.
 */
static int check_throttle(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL, *more = NULL;
    const char *tail = NULL;
    int status = EXIT_DONE;

    if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK)
        return cli_fail(EXIT_USAGE, "run: --throttle-sql: %s", sqlite3_errmsg(db));
    if (!st) {
        status = cli_fail(EXIT_USAGE, "run: --throttle-sql: no statement in '%s'", sql);
    } else if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) < 1) {
        status = cli_fail(EXIT_USAGE, "run: --throttle-sql: the query must read a value, not "
                          "write: %s", sqlite3_sql(st));
    } else if (tail && *tail) {
        /* Only comments or spaces may follow the one statement. */
        if (sqlite3_prepare_v2(db, tail, -1, &more, NULL) != SQLITE_OK || more)
            status = cli_fail(EXIT_USAGE, "run: --throttle-sql: one statement only, not '%s'",
                              sql);
        sqlite3_finalize(more);
    }
    sqlite3_finalize(st);
    return status;
}

int cmd_run(int argc, char **argv)
{
    bf_runner_options opts = BF_RUNNER_OPTIONS_INIT;
    struct run_ui ui;
    struct sigaction sa, old_int, old_term;
    bf_brief *brief = NULL;
    const char *path;
    char *default_ledger = NULL;
    bf_runner *r = NULL;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    bf_progress p = BF_PROGRESS_INIT;
    int64_t run_id = 0;
    int status, rc;

    memset(&ui, 0, sizeof ui);
    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    opts.warehouse_path = cli_opt("warehouse");
    opts.ledger_path = cli_opt("ledger");
    if (!opts.warehouse_path) {
        status = cli_fail(EXIT_USAGE, "run: --warehouse DB is required (usage: backfill %s)",
                          cli_usage());
        goto done;
    }
    opts.workers = (unsigned)cli_opt_int("workers", 0);
    /*
     * Bad input changes nothing: the brief's blocking findings, the warehouse
     * and the throttle query are checked before the runner opens (and may
     * create) the ledger.
     */
    if ((status = cli_warehouse_check(&ui.throttle_db, "run", opts.warehouse_path)) !=
        EXIT_DONE)
        goto done;
    if ((status = cli_refuse_blocked("run", brief)) != EXIT_DONE)
        goto done;
    ui.throttle_sql = cli_opt("throttle-sql");
    if (ui.throttle_sql) {
        if ((status = check_throttle(ui.throttle_db, ui.throttle_sql)) != EXIT_DONE)
            goto done;
        opts.throttle = throttle;
        opts.throttle_userdata = &ui;
    } else {
        sqlite3_close(ui.throttle_db);
        ui.throttle_db = NULL;
    }
    if (!opts.ledger_path) {
        default_ledger = malloc(strlen(opts.warehouse_path) + 8);
        if (!default_ledger) {
            status = cli_fail(EXIT_FAILURE_, "run: out of memory");
            goto done;
        }
        sprintf(default_ledger, "%s.ledger", opts.warehouse_path);
        opts.ledger_path = default_ledger;
    }
    ui.tty = isatty(2) && !cli_json;
    ui.on_event = cli_opt("on-event");
    ui.hook_timeout_s = cli_opt_int("on-event-timeout", 60);
    if (!ui.on_event && cli_opt("on-event-timeout")) {
        status = cli_fail(EXIT_USAGE, "run: --on-event-timeout needs --on-event");
        goto done;
    }
    opts.operator_name = cli_opt("operator");
    opts.on_event = on_event;
    opts.event_userdata = &ui;
    opts.flags = (cli_flag("new") ? BF_RUNNER_NEW : 0u) |
                 (cli_flag("force") ? BF_RUNNER_FORCE : 0u) |
                 (cli_flag("no-wait") ? BF_RUNNER_NO_WAIT : 0u);
    if ((rc = bf_runner_new(&r, &opts)) != BF_OK) {
        status = cli_fail_bf(rc, "run");
        goto done;
    }
    if ((rc = bf_runner_set_brief(r, brief)) != BF_OK) {
        status = cli_fail_bf(rc, "run");
        goto done;
    }
    running = r;
    signal_tty = ui.tty;
    /*
     * Nothing else is on stdout under --json until the run returns, so the
     * object is the whole of it when a second signal leaves at once.
     */
    if (cli_json) {
        fflush(stdout);
        leaving_json = cli_json_text(NULL,
                                     json_pack("{s:s, s:s, s:s, s:i}", "format", "backfill-error/1",
                                               "error", LEAVING, "code", bf_errstr(BF_E_STATE),
                                               "exit", 130),
                                     &leaving_json_len);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = bf_runner_run(r, &run_id);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    running = NULL;
    free(leaving_json);
    leaving_json = NULL;
    if (ui.line_open)
        fputc('\n', stderr);
    if (rc != BF_OK) {
        /* A changed target is not bad input: the run is stopped, blocked on it. */
        status = cli_fail_code(rc, rc == BF_E_CONFLICT ? EXIT_BLOCKED : cli_exit_for(rc), "run: %s",
                               bf_runner_last_error(r));
        if (!cli_json)
            goto done;
    } else {
        status = EXIT_DONE;
    }
    if (run_id && bf_ledger_open(&ledger, opts.ledger_path, NULL) == BF_OK &&
        bf_run_open(&run, ledger, run_id) == BF_OK && bf_run_progress(&p, run) == BF_OK) {
        if (cli_json) {
            if (status == EXIT_DONE)
                cli_print_json(json_pack(
                    "{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "run",
                    (json_int_t)run_id, "brief", bf_run_brief_name(run), "ledger",
                    opts.ledger_path, "state", bf_run_state_name(p.state), "batches",
                    (json_int_t)p.total, "validated", (json_int_t)p.validated, "failed",
                    (json_int_t)p.failed, "pending", (json_int_t)p.pending, "rows_written",
                    (json_int_t)p.rows_written, "rows_deleted", (json_int_t)p.rows_deleted));
        } else if (status == EXIT_DONE) {
            printf("run %lld (%s #%lld): %s: %lld of %lld batches validated, %lld rows written, "
                   "%lld deleted\n", (long long)run_id, bf_run_brief_name(run),
                   (long long)bf_run_seq(run), bf_run_state_name(p.state),
                   (long long)p.validated, (long long)p.total, (long long)p.rows_written,
                   (long long)p.rows_deleted);
            if (p.state == BF_RUN_AWAITING_APPROVAL)
                printf("next: the reviewer approves with backfill approve %lld --reviewer NAME "
                       "--ledger %s --warehouse %s\n", (long long)run_id, opts.ledger_path,
                       opts.warehouse_path);
        }
    }
done:
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_runner_free(r);
    bf_brief_free(brief);
    if (ui.throttle_db)
        sqlite3_close(ui.throttle_db);
    free(default_ledger);
    return status;
}
