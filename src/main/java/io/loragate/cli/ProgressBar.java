package io.loragate.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * One progress line. On a terminal it is redrawn in place ({@code \r}) at most 10 times a second;
 * elsewhere (a pipe, a log file) it prints a plain line only when {@link #line} is called, so logs
 * get a few readable lines instead of control characters.
 */
public final class ProgressBar {

    static final int WIDTH = 24;

    private final PrintWriter out;
    private final boolean terminal;
    private long lastDraw;
    private int lastLength;

    public ProgressBar(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    public boolean terminal() {
        return terminal;
    }

    /** Redraws the bar on a terminal (throttled unless {@code force}); does nothing elsewhere. */
    public void draw(String text, boolean force) {
        if (!terminal) {
            return;
        }
        long now = System.nanoTime();
        if (!force && now - lastDraw < 100_000_000L) {
            return;
        }
        lastDraw = now;
        String pad = text.length() < lastLength ? " ".repeat(lastLength - text.length()) : "";
        out.print("\r" + text + pad);
        out.flush();
        lastLength = text.length();
    }

    /** A line that stays: on a terminal it replaces the bar (which the next draw puts back below it). */
    public void line(String text) {
        if (terminal && lastLength > 0) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            lastLength = 0;
        }
        out.println(text);
        out.flush();
    }

    /** Ends the bar's line on a terminal. */
    public void finish() {
        if (terminal && lastLength > 0) {
            out.println();
            out.flush();
            lastLength = 0;
        }
    }

    /** {@code [#########---------------]  37%}; an unknown total draws an empty bar. */
    public static String bar(double done, double total) {
        double f = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
        int full = (int) Math.round(f * WIDTH);
        return "[" + "#".repeat(full) + "-".repeat(WIDTH - full) + "] " + String.format(Locale.ROOT, "%3d%%", Math.round(f * 100));
    }

    /** 1023 B, 4.0 KiB, 12.5 MiB, 1.2 GiB. */
    public static String bytes(double n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (n >= 1024 && u < units.length - 1) {
            n /= 1024;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f B", n) : String.format(Locale.ROOT, "%.1f %s", n, units[u]);
    }

    /** 5s, 2m05s, 1h02m. */
    public static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
