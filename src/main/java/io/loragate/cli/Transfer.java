package io.loragate.cli;

import java.util.Locale;

/**
 * Progress of an upload: a bar with bytes sent and the rate on a terminal; when piped, a plain line
 * at each quarter and one at the end, then "validating" while the server checks what it got.
 */
final class Transfer {

    private final ProgressBar bar;
    private final String label;
    private final long total;
    private final long start = System.nanoTime();
    private int quartersShown;
    private boolean done;

    Transfer(ProgressBar bar, String label, long total) {
        this.bar = bar;
        this.label = label;
        this.total = total;
    }

    /** Called from the HTTP client's thread as bytes go out. */
    synchronized void sent(long n) {
        if (done) {
            return;
        }
        if (n >= total) {
            done = true;
            sentAll();
            return;
        }
        String text = text(n);
        if (bar.terminal()) {
            bar.draw(text, false);
            return;
        }
        int quarters = total > 0 ? (int) (4 * n / total) : 0;
        if (quarters > quartersShown && quarters < 4) {
            quartersShown = quarters;
            bar.line(text);
        }
    }

    /** The body is out: the final line, then the server validates. */
    private void sentAll() {
        bar.draw(text(total), true);
        bar.finish();
        if (!bar.terminal()) {
            bar.line(text(total));
        }
        bar.line("validating " + label + " on the server...");
    }

    /** Ends the bar's line whatever happened (an upload refused half-way leaves no half-drawn line). */
    synchronized void close() {
        bar.finish();
    }

    private String text(long n) {
        double seconds = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
        return String.format(Locale.ROOT, "uploading %s %s %s / %s  %s/s", label, ProgressBar.bar(n, total), ProgressBar.bytes(n),
                ProgressBar.bytes(total), ProgressBar.bytes(n / seconds));
    }
}
