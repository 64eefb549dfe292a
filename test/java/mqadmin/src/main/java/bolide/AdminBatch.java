package bolide;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.srvutil.ServerUtil;
import org.apache.rocketmq.tools.command.MQAdminStartup;
import org.apache.rocketmq.tools.command.SubCommand;

/**
 * Runs several upstream mqadmin commands (org.apache.rocketmq:rocketmq-tools)
 * in one JVM, so a test pays the JVM and class-loading start once.
 *
 * <p>Usage: {@code java -cp ... bolide.AdminBatch CMD ARGS... [--- CMD ARGS...]...},
 * each group being exactly what one would type after {@code mqadmin}. For
 * every command it prints, on stdout:
 *
 * <pre>
 * @@bolide-batch begin N CMD
 * (what the command printed on stdout)
 * @@bolide-batch stderr
 * (what it printed on stderr, e.g. stack traces the tool swallows)
 * @@bolide-batch rpc ADDR REQUEST_CODE RESPONSE_CODE REMARK
 * @@bolide-batch end N ok|fail|usage MILLIS [ERROR CHAIN]
 * </pre>
 *
 * <p>One {@code rpc} line per request the command made (RESPONSE_CODE is
 * {@code none} when no answer came back), so a caller can tell which broker
 * request failed and with which code. Unlike {@code MQAdminStartup.main0},
 * which prints a failure's stack trace and returns normally, a command
 * that throws is reported as {@code fail} with its cause chain and response
 * codes. Commands run in order, each with a fresh SubCommand instance
 * (some cache their admin client across calls).
 *
 * <p>Exit status: 0 when every command was run (whatever its outcome), 2 on
 * bad usage, 3 when the watchdog ({@code -Dbolide.batch.timeoutSeconds},
 * default 300) fired.
 */
public final class AdminBatch {
    static final String MARK = "@@bolide-batch ";
    static final String SEPARATOR = "---";

    /** The real stdout: System.out is swapped per command. */
    private static final PrintStream OUT = System.out;
    private static final PrintStream ERR = System.err;

    /** Output of the command that is running, for the watchdog. */
    private static volatile Capture current;

    private AdminBatch() {
    }

    public static void main(String[] args) throws Exception {
        // As MQAdminStartup.main0 does, before RemotingCommand loads.
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        // Keep the tool's and client's log files out of $HOME (rmq.logback.xml
        // in this jar reads rocketmq.log.root).
        if (System.getProperty("rocketmq.log.root") == null) {
            Path logs = Files.createTempDirectory("bolide-mqadmin-logs");
            System.setProperty("rocketmq.log.root", logs.toString());
        }
        List<List<String>> groups = split(args);
        if (groups.isEmpty()) {
            ERR.println("usage: AdminBatch CMD ARGS... [--- CMD ARGS...]...");
            System.exit(2);
        }
        startWatchdog(Long.getLong("bolide.batch.timeoutSeconds", 300L));
        startShutdownNudger(Thread.currentThread());
        List<SubCommand> commands = Registry.commands();
        RpcRecorder recorder = new RpcRecorder();
        for (int i = 0; i < groups.size(); i++) {
            run(i + 1, groups.get(i), commands, recorder);
        }
        OUT.flush();
        // Client threads (netty, schedulers) may linger after shutdown.
        System.exit(0);
    }

    static List<List<String>> split(String[] args) {
        List<List<String>> groups = new ArrayList<>();
        List<String> cur = new ArrayList<>();
        for (String a : args) {
            if (SEPARATOR.equals(a)) {
                if (!cur.isEmpty()) {
                    groups.add(cur);
                }
                cur = new ArrayList<>();
            } else {
                cur.add(a);
            }
        }
        if (!cur.isEmpty()) {
            groups.add(cur);
        }
        return groups;
    }

    private static void run(int n, List<String> argv, List<SubCommand> commands, RpcRecorder recorder) {
        String name = argv.get(0);
        String[] subargs = argv.subList(1, argv.size()).toArray(new String[0]);
        Capture cap = new Capture(n, name);
        current = cap;
        long start = System.nanoTime();
        String status = "ok";
        String error = "";
        recorder.reset();
        System.setOut(cap.out);
        System.setErr(cap.err);
        try {
            SubCommand cmd = newCommand(commands, name);
            if (cmd == null) {
                status = "usage";
                error = "no such command: " + name;
            } else {
                Options options = cmd.buildCommandlineOptions(ServerUtil.buildCommandlineOptions(new Options()));
                CommandLine line = new DefaultParser().parse(options, subargs);
                if (line.hasOption('n')) {
                    System.setProperty(MixAll.NAMESRV_ADDR_PROPERTY, line.getOptionValue('n'));
                }
                cmd.execute(line, options, recorder);
            }
        } catch (ParseException e) {
            status = "usage";
            error = chain(e);
        } catch (Throwable e) {
            status = "fail";
            error = chain(e);
        } finally {
            System.setOut(OUT);
            System.setErr(ERR);
            current = null;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        cap.print(recorder.drain());
        OUT.println(MARK + "end " + n + " " + status + " " + millis + (error.isEmpty() ? "" : " " + error));
        OUT.flush();
    }

    /** A fresh instance of the named command, or null. */
    private static SubCommand newCommand(List<SubCommand> commands, String name) throws ReflectiveOperationException {
        for (SubCommand proto : commands) {
            if (proto.commandName().equalsIgnoreCase(name)
                || proto.commandAlias() != null && proto.commandAlias().equalsIgnoreCase(name)) {
                return proto.getClass().getDeclaredConstructor().newInstance();
            }
        }
        return null;
    }

    /** One line: each cause's class, response code if any, and message. */
    static String chain(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (sb.length() > 0) {
                sb.append(" | caused by ");
            }
            sb.append(t.getClass().getName());
            if (t instanceof MQBrokerException) {
                sb.append("(code=").append(((MQBrokerException) t).getResponseCode()).append(')');
            } else if (t instanceof MQClientException) {
                sb.append("(code=").append(((MQClientException) t).getResponseCode()).append(')');
            }
            sb.append(": ").append(oneLine(t.getMessage()));
            if (t.getCause() == t) {
                break;
            }
        }
        return sb.toString();
    }

    static String oneLine(String s) {
        return s == null ? "-" : s.replace('\r', ' ').replace('\n', ' ');
    }

    private static void startWatchdog(long seconds) {
        Thread w = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            } catch (InterruptedException e) {
                return;
            }
            Capture c = current;
            if (c != null) {
                c.print(List.of());
                OUT.println(MARK + "end " + c.n + " timeout " + TimeUnit.SECONDS.toMillis(seconds)
                    + " batch watchdog fired after " + seconds + " s");
            }
            OUT.println(MARK + "timeout");
            OUT.flush();
            Runtime.getRuntime().halt(3);
        }, "bolide-batch-watchdog");
        w.setDaemon(true);
        w.start();
    }

    /**
     * Upstream's NettyEventExecutor polls its event queue for up to 3 s and
     * the client's shutdown joins it without interrupting, so every command
     * could spend ~3 s closing its admin client. While the main thread is in
     * ServiceThread.shutdown this wakes the NettyEventExecutor threads: they
     * are stopping anyway, and an interrupt while in use only makes one loop
     * once more.
     */
    private static void startShutdownNudger(Thread main) {
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
                if (!inServiceThreadShutdown(main)) {
                    continue;
                }
                for (Thread th : Thread.getAllStackTraces().keySet()) {
                    if ("NettyEventExecutor".equals(th.getName())) {
                        th.interrupt();
                    }
                }
            }
        }, "bolide-batch-nudger");
        t.setDaemon(true);
        t.start();
    }

    private static boolean inServiceThreadShutdown(Thread main) {
        for (StackTraceElement e : main.getStackTrace()) {
            if ("shutdown".equals(e.getMethodName()) && "org.apache.rocketmq.common.ServiceThread".equals(e.getClassName())) {
                return true;
            }
        }
        return false;
    }

    /** The upstream command table (a protected static of MQAdminStartup). */
    private static final class Registry extends MQAdminStartup {
        static List<SubCommand> commands() {
            initCommand();
            return List.copyOf(SUB_COMMANDS);
        }
    }

    /** What one command printed. */
    private static final class Capture {
        final int n;
        final String name;
        final ByteArrayOutputStream outBuf = new ByteArrayOutputStream();
        final ByteArrayOutputStream errBuf = new ByteArrayOutputStream();
        final PrintStream out = new PrintStream(outBuf, true, StandardCharsets.UTF_8);
        final PrintStream err = new PrintStream(errBuf, true, StandardCharsets.UTF_8);

        Capture(int n, String name) {
            this.n = n;
            this.name = name;
        }

        void print(List<String> rpcs) {
            OUT.println(MARK + "begin " + n + " " + name);
            printBlock(outBuf);
            OUT.println(MARK + "stderr");
            printBlock(errBuf);
            for (String r : rpcs) {
                OUT.println(MARK + "rpc " + r);
            }
        }

        private static void printBlock(ByteArrayOutputStream buf) {
            String s;
            synchronized (buf) {
                s = buf.toString(StandardCharsets.UTF_8);
            }
            OUT.print(s);
            if (!s.isEmpty() && !s.endsWith("\n")) {
                OUT.println();
            }
        }
    }

    /** Records every request a command sends and the answer it got. */
    static final class RpcRecorder implements RPCHook {
        private final Map<Integer, String> pending = new LinkedHashMap<>();
        private final List<String> done = new ArrayList<>();

        @Override
        public synchronized void doBeforeRequest(String remoteAddr, RemotingCommand request) {
            pending.put(request.getOpaque(), remoteAddr + " " + request.getCode());
        }

        @Override
        public synchronized void doAfterResponse(String remoteAddr, RemotingCommand request, RemotingCommand response) {
            String key = pending.remove(request.getOpaque());
            if (key == null) {
                key = remoteAddr + " " + request.getCode();
            }
            String code = response == null ? "none" : Integer.toString(response.getCode());
            String remark = response == null ? "-" : oneLine(response.getRemark());
            done.add(key + " " + code + " " + remark);
        }

        synchronized void reset() {
            pending.clear();
            done.clear();
        }

        /** Answered requests in order, then the unanswered ones. */
        synchronized List<String> drain() {
            List<String> out = new ArrayList<>(done);
            for (String p : pending.values()) {
                out.add(p + " none -");
            }
            reset();
            return out;
        }
    }
}
