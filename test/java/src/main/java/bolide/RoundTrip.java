package bolide;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;

/**
 * Round trip through the official RocketMQ Java remoting client against a
 * Bolide name server: N sync sends, N async sends, one batch, then a push
 * consumer (clustering, from the first offset) that must receive every
 * message with its body, tags, keys and user properties intact.
 *
 * <p>Usage: {@code java -jar bolide-java-roundtrip.jar NAMESRV_ADDR TOPIC [N] [TIMEOUT_SECONDS]}.
 * With system properties {@code bolide.accessKey} and {@code bolide.secretKey}
 * both clients sign their requests with the ACL 1.0 hook (AclClientRPCHook).
 * Exits 0 on success, 1 on a failed check, 2 on bad usage, 3 on the overall
 * timeout.
 */
public final class RoundTrip {
    private static final String PROP_ID = "bolideId";
    private static final String PROP_KIND = "bolideKind";

    /** What was sent, keyed by the bolideId user property. */
    private static final Map<String, Message> SENT = new ConcurrentHashMap<>();
    /** Message ids (UNIQ_KEY) the producer reported, keyed by bolideId. */
    private static final Map<String, String> SENT_IDS = new ConcurrentHashMap<>();

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RoundTrip NAMESRV_ADDR TOPIC [N] [TIMEOUT_SECONDS]");
            System.exit(2);
        }
        String namesrv = args[0];
        String topic = args[1];
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int timeoutSec = args.length > 3 ? Integer.parseInt(args[3]) : 90;

        // Before any client class loads: keep the client's own log files out
        // of $HOME and its console quiet.
        // (rmq.client.logback.xml reads rocketmq.log.root and rocketmq.log.level.)
        if (System.getProperty("rocketmq.log.root") == null) {
            Path logs = Files.createTempDirectory("bolide-java-client-logs");
            System.setProperty("rocketmq.log.root", logs.toString());
        }
        if (System.getProperty("rocketmq.log.level") == null) {
            System.setProperty("rocketmq.log.level", "WARN");
        }

        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(timeoutSec));
            } catch (InterruptedException e) {
                return;
            }
            System.err.printf("FAIL: overall timeout of %d s reached%n", timeoutSec);
            Runtime.getRuntime().halt(3);
        }, "bolide-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        int rc;
        try {
            run(namesrv, topic, n);
            System.out.println("OK: java round trip passed");
            rc = 0;
        } catch (CheckFailed e) {
            System.err.println("FAIL: " + e.getMessage());
            rc = 1;
        } catch (Throwable e) {
            System.err.println("FAIL: " + e);
            e.printStackTrace();
            rc = 1;
        }
        // Client threads are not all daemons: exit explicitly.
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(rc);
    }

    private static final class CheckFailed extends Exception {
        CheckFailed(String msg) {
            super(msg);
        }
    }

    private static void check(boolean ok, String fmt, Object... args) throws CheckFailed {
        if (!ok) {
            throw new CheckFailed(String.format(fmt, args));
        }
    }

    private static Message message(String topic, String kind, int i) {
        String id = kind + "-" + i;
        Message m = new Message(topic, "Tag" + kind, "key-" + id + " alt-" + id,
                ("hello from java " + id + " \u00e9\u4e2d").getBytes(StandardCharsets.UTF_8));
        m.putUserProperty(PROP_ID, id);
        m.putUserProperty(PROP_KIND, kind);
        m.putUserProperty("seq", Integer.toString(i));
        SENT.put(id, m);
        return m;
    }

    private static void checkResult(String what, SendResult r) throws CheckFailed {
        check(r != null, "%s: null SendResult", what);
        check(r.getSendStatus() == SendStatus.SEND_OK, "%s: status %s", what, r.getSendStatus());
        check(r.getMsgId() != null && !r.getMsgId().isEmpty(), "%s: empty msgId", what);
        check(r.getOffsetMsgId() != null && !r.getOffsetMsgId().isEmpty(), "%s: empty offsetMsgId (%s)", what, r);
        check(r.getMessageQueue() != null, "%s: no message queue", what);
        check(r.getQueueOffset() >= 0, "%s: queue offset %d", what, r.getQueueOffset());
    }

    /** The ACL signing hook when bolide.accessKey and bolide.secretKey are set, else null. */
    private static RPCHook aclHook() {
        String ak = System.getProperty("bolide.accessKey");
        String sk = System.getProperty("bolide.secretKey");
        if (ak == null || sk == null) {
            return null;
        }
        return new AclClientRPCHook(new SessionCredentials(ak, sk));
    }

    private static void run(String namesrv, String topic, int n) throws Exception {
        String suffix = Long.toString(System.nanoTime());
        RPCHook hook = aclHook();
        DefaultMQProducer producer = new DefaultMQProducer("bolide_java_pg_" + suffix, hook);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("bolide-java-p-" + suffix);
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.setRetryTimesWhenSendAsyncFailed(0);
        DefaultMQPushConsumer consumer = null;
        try {
            producer.start();

            // Sync.
            for (int i = 0; i < n; i++) {
                Message m = message(topic, "Sync", i);
                SendResult r = producer.send(m);
                checkResult("sync send " + i, r);
                SENT_IDS.put(m.getUserProperty(PROP_ID), r.getMsgId());
            }
            System.out.printf("sent %d sync%n", n);

            // Async.
            CountDownLatch latch = new CountDownLatch(n);
            ConcurrentLinkedQueue<String> asyncErrors = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < n; i++) {
                Message m = message(topic, "Async", i);
                String id = m.getUserProperty(PROP_ID);
                producer.send(m, new SendCallback() {
                    @Override
                    public void onSuccess(SendResult r) {
                        try {
                            checkResult("async send " + id, r);
                            SENT_IDS.put(id, r.getMsgId());
                        } catch (CheckFailed e) {
                            asyncErrors.add(e.getMessage());
                        }
                        latch.countDown();
                    }

                    @Override
                    public void onException(Throwable e) {
                        asyncErrors.add("async send " + id + ": " + e);
                        latch.countDown();
                    }
                }, 10_000);
            }
            check(latch.await(30, TimeUnit.SECONDS), "async sends: %d callbacks missing after 30 s", latch.getCount());
            check(asyncErrors.isEmpty(), "async sends failed: %s", asyncErrors);
            System.out.printf("sent %d async%n", n);

            // Batch (all to one queue, as batches must be).
            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                batch.add(message(topic, "Batch", i));
            }
            SendResult br = producer.send(batch);
            checkResult("batch send", br);
            String[] ids = br.getMsgId().split(",");
            check(ids.length == n, "batch send: %d msgIds for %d messages: %s", ids.length, n, br.getMsgId());
            for (int i = 0; i < n; i++) {
                SENT_IDS.put(batch.get(i).getUserProperty(PROP_ID), ids[i]);
            }
            check(br.getOffsetMsgId().split(",").length == n, "batch send: offsetMsgId %s", br.getOffsetMsgId());
            System.out.printf("sent batch of %d%n", n);

            // Push consumer.
            Map<String, MessageExt> received = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<String> consumeErrors = new ConcurrentLinkedQueue<>();
            CountDownLatch all = new CountDownLatch(SENT.size());
            consumer = new DefaultMQPushConsumer("bolide_java_cg_" + suffix, hook);
            consumer.setNamesrvAddr(namesrv);
            consumer.setInstanceName("bolide-java-c-" + suffix);
            consumer.setMessageModel(MessageModel.CLUSTERING);
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    String id = m.getUserProperty(PROP_ID);
                    if (id == null || !SENT.containsKey(id)) {
                        consumeErrors.add("unexpected message " + m);
                        continue;
                    }
                    if (received.putIfAbsent(id, m) == null) {
                        all.countDown();
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            boolean done = all.await(45, TimeUnit.SECONDS);
            check(consumeErrors.isEmpty(), "consumer: %s", consumeErrors);
            if (!done) {
                Set<String> missing = new HashSet<>(SENT.keySet());
                missing.removeAll(received.keySet());
                throw new CheckFailed(String.format("consumer: %d of %d messages not received within 45 s: %s",
                        missing.size(), SENT.size(), new java.util.TreeSet<>(missing)));
            }
            for (Map.Entry<String, Message> e : SENT.entrySet()) {
                compare(e.getKey(), e.getValue(), received.get(e.getKey()), topic);
            }
            System.out.printf("received and checked %d messages%n", received.size());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
    }

    private static void compare(String id, Message want, MessageExt got, String topic) throws CheckFailed {
        check(got.getTopic().equals(topic), "%s: topic %s, want %s", id, got.getTopic(), topic);
        check(new String(got.getBody(), StandardCharsets.UTF_8).equals(new String(want.getBody(), StandardCharsets.UTF_8)),
                "%s: body %s, want %s", id, new String(got.getBody(), StandardCharsets.UTF_8),
                new String(want.getBody(), StandardCharsets.UTF_8));
        check(Objects.equals(got.getTags(), want.getTags()), "%s: tags %s, want %s", id, got.getTags(), want.getTags());
        check(Objects.equals(got.getKeys(), want.getKeys()), "%s: keys %s, want %s", id, got.getKeys(), want.getKeys());
        for (String p : new String[] {PROP_ID, PROP_KIND, "seq"}) {
            check(Objects.equals(got.getUserProperty(p), want.getUserProperty(p)), "%s: property %s = %s, want %s",
                    id, p, got.getUserProperty(p), want.getUserProperty(p));
        }
        check(Objects.equals(got.getMsgId(), SENT_IDS.get(id)), "%s: msgId %s, producer reported %s",
                id, got.getMsgId(), SENT_IDS.get(id));
        check(got.getQueueOffset() >= 0, "%s: queue offset %d", id, got.getQueueOffset());
        check(got.getStoreHost() != null && got.getBornHost() != null, "%s: no store/born host", id);
        check(got.getReconsumeTimes() == 0, "%s: reconsumeTimes %d", id, got.getReconsumeTimes());
    }
}
