<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AppController</name>
    <message>
        <location filename="../../monitor/gui/app.py" line="248"/>
        <source>No system tray is available on this desktop (%1), so Token Monitor runs as a normal window; closing it quits the app.</source>
        <translation>此桌面（%1）没有系统托盘，因此 Token Monitor 以普通窗口运行；关闭窗口即退出程序。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/app.py" line="393"/>
        <source>Settings not saved</source>
        <translation>设置未保存</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/app.py" line="402"/>
        <source>Start at login</source>
        <translation>登录时启动</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/app.py" line="422"/>
        <source>API keys</source>
        <translation>API 密钥</translation>
    </message>
</context>
<context>
    <name>BudgetCalculator</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="34"/>
        <source>Budget calculator</source>
        <translation>预算计算器</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="51"/>
        <source>Standard</source>
        <translation>标准</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="52"/>
        <source>Batch API</source>
        <translation>批处理 API</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="53"/>
        <source>Flex</source>
        <translation>Flex</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="54"/>
        <source>Priority</source>
        <translation>优先</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="73"/>
        <source>Calls per day</source>
        <translation>每日调用次数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="74"/>
        <source>Tier</source>
        <translation>服务层级</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="75"/>
        <source>Cached input</source>
        <translation>缓存输入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="76"/>
        <source>Output tokens per call</source>
        <translation>每次调用的输出 token 数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="102"/>
        <source>No price table: costs are unavailable.</source>
        <translation>没有价格表：无法计算费用。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="106"/>
        <source>No estimate until the text can be counted.</source>
        <translation>文本可以计数之前无法估算。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="122"/>
        <source>{model} is not in the price table.</source>
        <translation>{model} 不在价格表中。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="123"/>
        <source>{tier} is not offered for {model}.</source>
        <translation>{model} 不提供 {tier}。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="127"/>
        <source>The price of {model} is unknown.</source>
        <translation>{model} 的价格未知。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="129"/>
        <source>&lt;b&gt;{monthly}&lt;/b&gt; per month ({days} days × {calls} calls; {per_call} each)</source>
        <translation>每月 &lt;b&gt;{monthly}&lt;/b&gt;（{days} 天 × {calls} 次调用；每次 {per_call}）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="138"/>
        <source>The monthly limit is already used up.</source>
        <translation>每月限额已用完。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="141"/>
        <source>{share} of the {limit} monthly limit</source>
        <translation>占每月限额 {limit} 的 {share}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="147"/>
        <source>{share} of the {left} left this month</source>
        <translation>占本月剩余 {left} 的 {share}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/budget.py" line="152"/>
        <source>{model} has no cached-input price; cached tokens are billed as input.</source>
        <translation>{model} 没有缓存输入价格；缓存的 token 按输入计费。</translation>
    </message>
</context>
<context>
    <name>CostPanel</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="32"/>
        <source>Cost of this text</source>
        <translation>这段文本的费用</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="35"/>
        <source>Standard</source>
        <translation>标准</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="36"/>
        <source>Batch</source>
        <translation>批处理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="39"/>
        <source>As input</source>
        <translation>作为输入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="40"/>
        <source>As cached input</source>
        <translation>作为缓存输入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="41"/>
        <source>As output</source>
        <translation>作为输出</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="78"/>
        <source>No such price for this model</source>
        <translation>该模型没有此价格</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="86"/>
        <source>{model} is not in the price table.</source>
        <translation>{model} 不在价格表中。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="88"/>
        <source>Prices as of {date}.</source>
        <translation>价格截至 {date}。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="91"/>
        <source>Long-context rates apply above {n} input tokens.</source>
        <translation>输入超过 {n} 个 token 时适用长上下文价格。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/cost_panel.py" line="94"/>
        <source>* computed by rule, not from a published price.</source>
        <translation>* 按规则推算，并非公布价格。</translation>
    </message>
</context>
<context>
    <name>CumulativeChart</name>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="217"/>
        <source>Cumulative spend against the limit</source>
        <translation>累计花费与限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="222"/>
        <source>Spent</source>
        <translation>已花费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="235"/>
        <source>Limit</source>
        <translation>限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="248"/>
        <source>Projection (%1 by %2)</source>
        <translation>预测（%2 前 %1）</translation>
    </message>
</context>
<context>
    <name>DailySpendChart</name>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="166"/>
        <source>Daily spend this cycle (UTC days)</source>
        <translation>本周期每日花费（按 UTC 日）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="169"/>
        <source>Spend</source>
        <translation>花费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/charts.py" line="181"/>
        <source>Daily pace of the limit (%1/day)</source>
        <translation>限额的每日节奏（%1/天）</translation>
    </message>
</context>
<context>
    <name>DashboardWindow</name>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="149"/>
        <source>Token Monitor</source>
        <translation>Token Monitor</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="158"/>
        <source>Actions</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="162"/>
        <source>Refresh now</source>
        <translation>立即刷新</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="165"/>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="168"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="169"/>
        <source>API keys…</source>
        <translation>API 密钥…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="173"/>
        <source>The period of the tables, the what-if and the CSV export (the header and the charts show the billing cycle)</source>
        <translation>表格、假设计算和 CSV 导出所用的时段（顶部数字和图表显示计费周期）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="204"/>
        <source>Overview</source>
        <translation>概览</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="209"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="475"/>
        <source>Saved %1 – %2 to %3</source>
        <translation>已将 %1 – %2 保存到 %3</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="235"/>
        <source>By model</source>
        <translation>按模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="239"/>
        <source>Project</source>
        <translation>项目</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="242"/>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="252"/>
        <source>By project and key</source>
        <translation>按项目和密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="258"/>
        <source>Billed: the Costs API&apos;s dollars for the UTC day. Estimated: tokens × the price table. They differ by cached-input share, service tier, unpriced models and data that arrives late.</source>
        <translation>已计费：Costs API 给出的当日（UTC）金额。估算：token 数 × 价格表。两者的差异来自缓存输入比例、服务层级、未定价的模型以及延迟到达的数据。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="270"/>
        <source>Billed vs estimated</source>
        <translation>已计费与估算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="278"/>
        <source>Sources</source>
        <translation>数据来源</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="285"/>
        <source>Tokenizer</source>
        <translation>分词器</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="369"/>
        <source>No price known for: %1. Their tokens are counted; their dollars only where the Costs API billed them, never in estimates. Add prices in %2.</source>
        <translation>以下模型没有已知价格：%1。它们的 token 照常统计；金额只计入 Costs API 已计费的部分，不计入估算。可在 %2 中添加价格。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="381"/>
        <source>Organization sync failing: %1 — last success %2.</source>
        <translation>组织同步失败：%1 — 上次成功于 %2。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="386"/>
        <source>Organization sync stopped: no admin key is stored any more (add one under API keys…) — last success %1.</source>
        <translation>组织同步已停止：已没有保存的管理员密钥（请在“API 密钥…”中添加）— 上次成功 %1。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="391"/>
        <source>Proxy: %1</source>
        <translation>代理：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="393"/>
        <source>The numbers shown are the last ones it had.</source>
        <translation>显示的是最后一次获得的数据。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="462"/>
        <location filename="../../monitor/gui/dashboard/window.py" line="469"/>
        <location filename="../../monitor/gui/dashboard/window.py" line="474"/>
        <source>Export CSV</source>
        <translation>导出 CSV</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="462"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/window.py" line="470"/>
        <source>Could not write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
</context>
<context>
    <name>EditorSide</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="50"/>
        <source>Text</source>
        <translation>文本</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="51"/>
        <source>Chat messages (JSON)</source>
        <translation>对话消息（JSON）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="56"/>
        <source>Open file…</source>
        <translation>打开文件…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="57"/>
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="70"/>
        <source>Paste or type text here, or drop a UTF-8 text file. In chat mode, paste a JSON list of messages or {&quot;messages&quot;: […], &quot;tools&quot;: […]}.</source>
        <translation>在此粘贴或输入文本，或拖入一个 UTF-8 文本文件。对话模式下，请粘贴 JSON 消息列表或 {&quot;messages&quot;: […], &quot;tools&quot;: […]}。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="109"/>
        <source>Show whitespace</source>
        <translation>显示空白字符</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="110"/>
        <source>Show token IDs</source>
        <translation>显示 token ID</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="111"/>
        <source>Copy token IDs</source>
        <translation>复制 token ID</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="112"/>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="136"/>
        <source>Tokens</source>
        <translation>Token</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="132"/>
        <source>Messages</source>
        <translation>消息</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="136"/>
        <source>#</source>
        <translation>#</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="136"/>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="173"/>
        <source>Shading shows the first {shown} of {total} tokens; the count covers all of them.</source>
        <translation>着色只显示前 {shown} 个 token（共 {total} 个）；计数包含全部。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="203"/>
        <source>Messages: {n} (of which {overhead} per-message overhead)</source>
        <translation>消息：{n}（其中每条消息开销 {overhead}）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="206"/>
        <source>Tools: {n}</source>
        <translation>工具：{n}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="207"/>
        <source>Reply priming: {n}</source>
        <translation>回复引导：{n}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="208"/>
        <source>Total: {n}</source>
        <translation>合计：{n}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="212"/>
        <source>rules not verified for this model</source>
        <translation>该模型的规则未经验证</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/editor_side.py" line="213"/>
        <source>Estimate: {notes}</source>
        <translation>估算：{notes}</translation>
    </message>
</context>
<context>
    <name>HeaderPanel</name>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="71"/>
        <source>Today</source>
        <translation>今日</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="77"/>
        <source>Input</source>
        <translation>输入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="77"/>
        <source>Cached</source>
        <translation>缓存</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="78"/>
        <source>Output</source>
        <translation>输出</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="78"/>
        <source>Reasoning</source>
        <translation>推理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="95"/>
        <source>This cycle</source>
        <translation>本周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="118"/>
        <source>Prepaid credit</source>
        <translation>预付额度</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="134"/>
        <source>Today (%1)</source>
        <translation>今日（%1）</translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/dashboard/header.py" line="137"/>
        <source>%n request(s) · %1 tokens</source>
        <translation>
            <numerusform>%n 次请求 · %1 个 token</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="148"/>
        <source>This cycle (%1 – %2)</source>
        <translation>本周期（%1 – %2）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="151"/>
        <source>%1 of %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="164"/>
        <source>Remaining: %1</source>
        <translation>剩余：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="167"/>
        <source>Over the limit by %1</source>
        <translation>超出限额 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="170"/>
        <source>Billed %1 + estimated %2 (days the Costs API has not billed yet)</source>
        <translation>已计费 %1 + 估算 %2（Costs API 尚未计费的日期）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="173"/>
        <source>All billed (Costs API)</source>
        <translation>全部已计费（Costs API）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="175"/>
        <source>Estimated from tokens × price (nothing billed yet)</source>
        <translation>按 token × 价格估算（尚未计费）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="178"/>
        <source>Caching saved %1 this cycle</source>
        <translation>本周期缓存节省了 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="185"/>
        <source>Used up</source>
        <translation>已用完</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="186"/>
        <source>%1 over the %2 credit (spent %3 since %4)</source>
        <translation>超出 %2 额度 %1（自 %4 起已花费 %3）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="192"/>
        <source>of %1 (spent %2 since %3)</source>
        <translation>共 %1（自 %3 起已花费 %2）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/header.py" line="198"/>
        <source>expired</source>
        <translation>已过期</translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/dashboard/header.py" line="200"/>
        <source>expires in %n day(s)</source>
        <translation>
            <numerusform>%n 天后过期</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>IdsCopier</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/ids_copy.py" line="46"/>
        <source>Preparing {n} token IDs…</source>
        <translation>正在准备 {n} 个 token ID…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/ids_copy.py" line="63"/>
        <source>Copied {n} token IDs.</source>
        <translation>已复制 {n} 个 token ID。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/ids_copy.py" line="71"/>
        <source>Copying the token IDs failed: {problem}</source>
        <translation>复制 token ID 失败：{problem}</translation>
    </message>
</context>
<context>
    <name>KeysDialog</name>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="95"/>
        <source>API keys</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="130"/>
        <location filename="../../monitor/gui/keys_dialog.py" line="196"/>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="130"/>
        <location filename="../../monitor/gui/keys_dialog.py" line="197"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="130"/>
        <source>Key</source>
        <translation>密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="130"/>
        <source>Added</source>
        <translation>添加日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="131"/>
        <source>Expiry</source>
        <translation>过期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="131"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="131"/>
        <source>Age</source>
        <translation>使用时长</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="154"/>
        <source>Test</source>
        <translation>测试</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="157"/>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="160"/>
        <source>Use for sync</source>
        <translation>用于同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="162"/>
        <source>Organization usage is read with this admin key</source>
        <translation>用此管理员密钥读取组织用量</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="175"/>
        <source>Add a key</source>
        <translation>添加密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="180"/>
        <source>e.g. org-admin</source>
        <translation>例如 org-admin</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="183"/>
        <source>Admin key (reads organization usage)</source>
        <translation>管理员密钥（读取组织用量）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="184"/>
        <source>Project key (for the proxy)</source>
        <translation>项目密钥（供代理使用）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="188"/>
        <source>paste the key; it is not shown</source>
        <translation>粘贴密钥；不会显示</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="191"/>
        <source>YYYY-MM-DD (optional)</source>
        <translation>YYYY-MM-DD（可选）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="192"/>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="198"/>
        <source>Secret</source>
        <translation>密钥内容</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="199"/>
        <source>Expires</source>
        <translation>过期日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="216"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="243"/>
        <source>This key is already stored as %1; one key needs only one label.</source>
        <translation>此密钥已保存为 %1；一个密钥只需一个标签。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="251"/>
        <source>Unexpected error: %1</source>
        <translation>意外错误：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="279"/>
        <source>The system keyring cannot be used, so keys cannot be added or read. Token Monitor never stores keys in a plain file.</source>
        <translation>无法使用系统密钥环，因此不能添加或读取密钥。Token Monitor 从不把密钥保存在明文文件中。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="300"/>
        <source>admin</source>
        <translation>管理员</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="300"/>
        <source>project</source>
        <translation>项目</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="320"/>
        <source>No usable admin key is left: every stored admin key has expired or failed its last test, so organization usage is not synced. Add a new admin key (or test a fixed one again).</source>
        <translation>没有可用的管理员密钥了：所有已保存的管理员密钥都已过期或上次测试未通过，因此不会同步组织用量。请添加新的管理员密钥（或修复后重新测试）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="325"/>
        <source>No admin key: organization usage is not synced (the proxy still meters your apps).</source>
        <translation>没有管理员密钥：不同步组织用量（代理仍会计量你的应用）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="329"/>
        <source>Organization sync uses %1 (%2).</source>
        <translation>组织同步使用 %1（%2）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="332"/>
        <source>Chosen automatically: the newest admin key that has not expired or failed its last test. Select another and press “Use for sync” to choose.</source>
        <translation>自动选择：最新的、未过期且上次测试未失败的管理员密钥。选中其他密钥并点击“用于同步”即可更换。</translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="340"/>
        <source>%1 is %n day(s) old: time to renew it. Create a new key on the OpenAI platform, add it here and keep %1 as a backup until the new one works.</source>
        <translation>
            <numerusform>%1 已使用 %n 天：该更换了。请在 OpenAI 平台创建新密钥并在此添加，在新密钥可用之前保留 %1 作为备用。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="346"/>
        <source>%n day(s)</source>
        <translation>
            <numerusform>%n 天</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="351"/>
        <source>%1 is a project key; only an admin key can sync.</source>
        <translation>%1 是项目密钥；只有管理员密钥可以同步。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="354"/>
        <source>%1 expired on %2; an expired key is not used for sync.</source>
        <translation>%1 已于 %2 过期；过期的密钥不会用于同步。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="357"/>
        <source>%1 failed its last test; press Test once it is fixed, or add a new key.</source>
        <translation>%1 上次测试未通过；修复后点击“测试”，或添加新密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="510"/>
        <source>Testing %1 failed: %2

Keep it anyway? It is stored marked invalid, and sync does not use it until a test passes.</source>
        <translation>测试 %1 失败：%2

仍要保留吗？它会被标记为无效保存，在测试通过之前不会用于同步。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="364"/>
        <source>used for sync</source>
        <translation>用于同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="366"/>
        <source>not used for sync</source>
        <translation>不用于同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="368"/>
        <source>expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="370"/>
        <source>valid (tested %1)</source>
        <translation>有效（%1 测试）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="373"/>
        <source>invalid when tested</source>
        <translation>测试时无效</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="375"/>
        <source>not tested</source>
        <translation>未测试</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="381"/>
        <source>no expiry set</source>
        <translation>未设置过期日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="383"/>
        <source>expired on %1</source>
        <translation>已于 %1 过期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="385"/>
        <source>expires today</source>
        <translation>今天过期</translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="387"/>
        <source>expires in %n day(s)</source>
        <translation>
            <numerusform>%n 天后过期</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="438"/>
        <source>Give the key a name, for example org-admin.</source>
        <translation>给密钥起个名字，例如 org-admin。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="444"/>
        <source>Use letters, digits and . _ - @ + only (no spaces), up to 64 characters, starting with a letter or digit.</source>
        <translation>只能使用字母、数字和 . _ - @ +（不含空格），最多 64 个字符，并以字母或数字开头。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="448"/>
        <source>A key named %1 already exists. Pick another name, or remove that key first.</source>
        <translation>已有名为 %1 的密钥。请换一个名字，或先删除那个密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="452"/>
        <source>Paste the key here.</source>
        <translation>请在此粘贴密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="454"/>
        <source>The key has spaces or line breaks in it; paste only the key.</source>
        <translation>密钥中含有空格或换行；请只粘贴密钥本身。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="457"/>
        <source>That is too short to be an API key.</source>
        <translation>太短了，不像是 API 密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="462"/>
        <source>Write the date as YYYY-MM-DD, for example 2027-03-01, or leave it empty.</source>
        <translation>日期请写成 YYYY-MM-DD，例如 2027-03-01，或留空。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="509"/>
        <source>The key did not pass the test</source>
        <translation>密钥未通过测试</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="513"/>
        <source>Not added: %1 failed the test (%2).</source>
        <translation>未添加：%1 未通过测试（%2）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="539"/>
        <source>Added %1 (%2).</source>
        <translation>已添加 %1（%2）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="544"/>
        <source>Test: %1</source>
        <translation>测试：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="547"/>
        <source>Marked invalid: %1</source>
        <translation>已标记为无效：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="564"/>
        <source>Not used for sync: %1</source>
        <translation>未用于同步：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="568"/>
        <source>Organization sync now uses %1.</source>
        <translation>组织同步现在使用 %1。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="579"/>
        <source>Remove the key %1 (%2)? Its secret is deleted from the system keyring.</source>
        <translation>删除密钥 %1（%2）吗？其密文将从系统密钥环中删除。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="582"/>
        <source>It is the only admin key: organization usage stops syncing until you add another.</source>
        <translation>这是唯一的管理员密钥：在添加新密钥之前，组织用量将停止同步。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="584"/>
        <source>Remove key</source>
        <translation>删除密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="588"/>
        <source>Removed %1.</source>
        <translation>已删除 %1。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/keys_dialog.py" line="519"/>
        <location filename="../../monitor/gui/keys_dialog.py" line="601"/>
        <source>Testing %1…</source>
        <translation>正在测试 %1…</translation>
    </message>
</context>
<context>
    <name>LimitDialog</name>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="48"/>
        <source>Monthly limit</source>
        <translation>每月限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="51"/>
        <source>Which monthly limit should Token Monitor compare your spend against? Budget alerts (50 %, 80 %, … of the limit, and the projection) start once you choose.</source>
        <translation>Token Monitor 应该用哪个每月限额来比较你的支出？选定之后才会开始预算提醒（限额的 50 %、80 %……以及预测）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="60"/>
        <source>Last cycle&apos;s spend is not known yet.</source>
        <translation>上个周期的支出暂时未知。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="62"/>
        <source>Last billing cycle you spent %1.</source>
        <translation>上个计费周期你花费了 %1。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="72"/>
        <source>0 means no limit: no budget alerts</source>
        <translation>0 表示不设限额：没有预算提醒</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="73"/>
        <source>Monthly limit (USD)</source>
        <translation>每月限额（美元）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/limit_prompt.py" line="77"/>
        <source>Use this limit</source>
        <translation>使用此限额</translation>
    </message>
</context>
<context>
    <name>NewVirtualKeyDialog</name>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="303"/>
        <source>New virtual key</source>
        <translation>新建虚拟密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="317"/>
        <source>the app&apos;s name, e.g. notes-bot</source>
        <translation>应用名称，例如 notes-bot</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="324"/>
        <source>USD, empty for no cap</source>
        <translation>美元；留空表示不设上限</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="327"/>
        <source>per day</source>
        <translation>每天</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="328"/>
        <source>per billing cycle (month)</source>
        <translation>每个计费周期（月）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="329"/>
        <source>Hard cap: the proxy refuses requests past it (HTTP 429) instead of only alerting</source>
        <translation>硬上限：超出后代理直接拒绝请求（HTTP 429），而不只是提醒</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="337"/>
        <source>Add a project key first: a virtual key stands for one.</source>
        <translation>请先添加一个项目密钥：每个虚拟密钥都对应一个项目密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="338"/>
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="343"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="349"/>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="350"/>
        <source>Stands for</source>
        <translation>对应密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="351"/>
        <source>Cap</source>
        <translation>上限</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="352"/>
        <source>Period</source>
        <translation>周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="366"/>
        <source>This is the only time the token is shown: copy it now. Token Monitor keeps only a hash of it.</source>
        <translation>令牌只显示这一次，请立即复制。Token Monitor 只保存它的哈希值。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="374"/>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="459"/>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="378"/>
        <source>Copy token</source>
        <translation>复制令牌</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="385"/>
        <source>In the app&apos;s environment (with the proxy running):</source>
        <translation>在应用的运行环境中设置（代理需在运行）：</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="391"/>
        <source>Copy both lines</source>
        <translation>复制这两行</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="394"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="424"/>
        <source>A hard cap needs an amount.</source>
        <translation>硬上限需要填写金额。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="439"/>
        <source>Virtual key %1 created for %2</source>
        <translation>已为 %2 创建虚拟密钥 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="459"/>
        <source>Hide</source>
        <translation>隐藏</translation>
    </message>
</context>
<context>
    <name>PeriodPicker</name>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="57"/>
        <source>Period</source>
        <translation>周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="60"/>
        <source>This cycle</source>
        <translation>本周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="60"/>
        <source>Today</source>
        <translation>今日</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="61"/>
        <source>Yesterday</source>
        <translation>昨日</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="62"/>
        <source>Last cycle</source>
        <translation>上个周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="66"/>
        <source>Date range…</source>
        <translation>日期范围…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/period.py" line="140"/>
        <source>%1 – %2</source>
        <translation>%1 – %2</translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="83"/>
        <source>Model and encoding</source>
        <translation>模型与编码</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="96"/>
        <source>Model&apos;s encoding</source>
        <translation>模型的编码</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="99"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="100"/>
        <source>Encoding</source>
        <translation>编码</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="101"/>
        <source>Count with</source>
        <translation>计数方式</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="105"/>
        <source>This text</source>
        <translation>这段文本</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="115"/>
        <source>Copy count</source>
        <translation>复制计数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="130"/>
        <source>Characters</source>
        <translation>字符数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="131"/>
        <source>Words</source>
        <translation>词数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="132"/>
        <source>Tokens per word</source>
        <translation>每词 token 数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="144"/>
        <source>Context window</source>
        <translation>上下文窗口</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="158"/>
        <source>(no price table)</source>
        <translation>（无价格表）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="164"/>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="186"/>
        <source>(assumed)</source>
        <translation>（推定）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="189"/>
        <source>Assumed: no source names the encoding of {model}.</source>
        <translation>推定：没有资料说明 {model} 的编码。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="190"/>
        <source>From {source}.</source>
        <translation>来源：{source}。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="199"/>
        <source>{n} tokens</source>
        <translation>{n} 个 token</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="217"/>
        <source>Contains special-token strings ({names}): counted as plain text, as the API does with the text of a request (they never act as control tokens).</source>
        <translation>包含特殊令牌字符串（{names}）：按普通文本计数，与 API 对请求文本的处理相同（它们不会被当作控制令牌）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="234"/>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="235"/>
        <source>Context window unknown for this model.</source>
        <translation>该模型的上下文窗口未知。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="245"/>
        <source>{n} of {window} tokens: {extra} over the context window</source>
        <translation>{n} / {window} 个 token：超出上下文窗口 {extra}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/results_panel.py" line="251"/>
        <source>{n} of {window} tokens</source>
        <translation>{n} / {window} 个 token</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="98"/>
        <source>Token Monitor settings</source>
        <translation>Token Monitor 设置</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="109"/>
        <source>Budget</source>
        <translation>预算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="110"/>
        <source>Sources</source>
        <translation>数据来源</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="111"/>
        <source>Metering proxy</source>
        <translation>计量代理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="112"/>
        <source>Prepaid credit</source>
        <translation>预付额度</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="113"/>
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="145"/>
        <source>The windows switch to the new language when you press Save.</source>
        <translation>点击“保存”后窗口将切换到新语言。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="155"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="156"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="157"/>
        <source>Send test notification</source>
        <translation>发送测试通知</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="170"/>
        <source>Monthly limit (USD)</source>
        <translation>每月限额（美元）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="171"/>
        <source>Billing cycle starts on day</source>
        <translation>计费周期起始日</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="172"/>
        <source>Alert thresholds (% of limit)</source>
        <translation>提醒阈值（占限额的 %）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="173"/>
        <source>Refuse proxy requests past the monthly limit</source>
        <translation>超出每月限额后由代理拒绝请求</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="174"/>
        <source>Poll interval (seconds)</source>
        <translation>轮询间隔（秒）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="175"/>
        <source>Time zone of “today”</source>
        <translation>“今日”所用时区</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="176"/>
        <source>OpenAI API base URL</source>
        <translation>OpenAI API 基础 URL</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="177"/>
        <source>Run the metering proxy</source>
        <translation>运行计量代理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="178"/>
        <source>Proxy port</source>
        <translation>代理端口</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="179"/>
        <source>Expose metrics</source>
        <translation>提供监控指标</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="180"/>
        <source>Metrics port (Prometheus, loopback)</source>
        <translation>指标端口（Prometheus，仅本机回环）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="181"/>
        <source>OTLP/HTTP endpoint (empty: off)</source>
        <translation>OTLP/HTTP 端点（留空即关闭）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="182"/>
        <source>Desktop notifications</source>
        <translation>桌面通知</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="183"/>
        <source>Start at login</source>
        <translation>登录时启动</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="184"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="185"/>
        <source>Tray icon shows</source>
        <translation>托盘图标显示</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="186"/>
        <source>Remind to renew API keys after (days, 0: never)</source>
        <translation>提醒更换 API 密钥的天数（0：从不）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="187"/>
        <source>Prepaid credit (USD)</source>
        <translation>预付额度（美元）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="188"/>
        <source>Credit purchased on</source>
        <translation>额度购买日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="189"/>
        <source>Credit expires on</source>
        <translation>额度过期日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="212"/>
        <source>System language</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="221"/>
        <source>Gauge of the cycle</source>
        <translation>本周期仪表</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="221"/>
        <source>Today&apos;s $</source>
        <translation>今日花费 $</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="222"/>
        <source>Cycle %</source>
        <translation>本周期 %</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="232"/>
        <source>local</source>
        <translation>本地</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="235"/>
        <source>&quot;local&quot;, &quot;UTC&quot; or a zone name such as Europe/Paris</source>
        <translation>“local”、“UTC”或时区名称，例如 Asia/Shanghai</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="247"/>
        <source>YYYY-MM-DD (empty: none)</source>
        <translation>YYYY-MM-DD（留空表示无）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="249"/>
        <source>empty: no prepaid credit</source>
        <translation>留空表示没有预付额度</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="252"/>
        <source>Percentages of the limit, separated by commas or spaces: 50, 80, 90, 100 or 50 80 90 100</source>
        <translation>限额的百分比，用逗号或空格分隔：50, 80, 90, 100 或 50 80 90 100</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="270"/>
        <source>0 means no limit: spend is still counted, but the icon shows no gauge and no threshold or projection alerts fire.</source>
        <translation>0 表示不设限额：仍会统计花费，但图标不显示仪表，也不会触发阈值或预测提醒。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="316"/>
        <source>must be a number</source>
        <translation>必须是数字</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="317"/>
        <source>%1 is not a number</source>
        <translation>%1 不是数字</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="318"/>
        <source>must be a finite number</source>
        <translation>必须是有限的数字</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="319"/>
        <source>must be at least %1</source>
        <translation>不能小于 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="320"/>
        <source>must be at most %1</source>
        <translation>不能大于 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="321"/>
        <source>must be a whole number</source>
        <translation>必须是整数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="322"/>
        <source>%1 is not a whole number</source>
        <translation>%1 不是整数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="324"/>
        <source>must be between %1 and %2</source>
        <translation>必须在 %1 到 %2 之间</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="325"/>
        <source>must be true or false</source>
        <translation>必须是 true 或 false</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="327"/>
        <source>must be percentages separated by commas or spaces, e.g. 50, 80, 90</source>
        <translation>必须是用逗号或空格分隔的百分比，例如 50, 80, 90</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="329"/>
        <source>needs at least one threshold, e.g. 50, 80, 90, 100</source>
        <translation>至少需要一个阈值，例如 50, 80, 90, 100</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="331"/>
        <source>must be &quot;local&quot;, &quot;UTC&quot; or a zone name such as Europe/Paris</source>
        <translation>必须是“local”、“UTC”或时区名称，例如 Asia/Shanghai</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="332"/>
        <source>unknown time zone %1</source>
        <translation>未知时区 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="334"/>
        <source>must be an http:// or https:// URL</source>
        <translation>必须是 http:// 或 https:// 网址</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="335"/>
        <source>must be a date as YYYY-MM-DD</source>
        <translation>必须是 YYYY-MM-DD 格式的日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="348"/>
        <source>Not accepted: %1</source>
        <translation>无效：%1</translation>
    </message>
</context>
<context>
    <name>SourcesPane</name>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="48"/>
        <source>Organization usage (Usage and Costs APIs)</source>
        <translation>组织用量（Usage 与 Costs API）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="64"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="65"/>
        <source>Last sync</source>
        <translation>上次同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="66"/>
        <source>Next sync</source>
        <translation>下次同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="67"/>
        <location filename="../../monitor/gui/dashboard/sources.py" line="88"/>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="68"/>
        <source>Freshness</source>
        <translation>数据新鲜度</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="69"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="75"/>
        <source>Metering proxy</source>
        <translation>计量代理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="80"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="82"/>
        <source>Metrics</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="83"/>
        <source>Requests today</source>
        <translation>今日请求数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="85"/>
        <source>Without usage</source>
        <translation>缺少用量数据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="87"/>
        <source>Waiting to be stored</source>
        <translation>等待写入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="91"/>
        <source>Note</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="96"/>
        <source>Key</source>
        <translation>密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="96"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="96"/>
        <source>Requests left</source>
        <translation>剩余请求数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="96"/>
        <source>Tokens left</source>
        <translation>剩余 token</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="97"/>
        <source>Resets in</source>
        <translation>重置倒计时</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="102"/>
        <source>Rate-limit headroom</source>
        <translation>速率限制余量</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="124"/>
        <source>Syncing…</source>
        <translation>正在同步…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="126"/>
        <source>Failing — showing the last data it had</source>
        <translation>失败 — 显示最后一次获得的数据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="128"/>
        <source>OK</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="131"/>
        <source>now</source>
        <translation>现在</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="134"/>
        <source>%1 (at %2)</source>
        <translation>%1（于 %2）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="141"/>
        <source>Off (turn it on in Settings)</source>
        <translation>已关闭（可在设置中开启）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="144"/>
        <source>%1 — set OPENAI_BASE_URL to this</source>
        <translation>%1 — 将 OPENAI_BASE_URL 设置为此地址</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="146"/>
        <source>starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="149"/>
        <source> (%1 refused or failed)</source>
        <translation>（%1 个被拒绝或失败）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="153"/>
        <source>%1 this cycle (%2 with input estimated from the request)</source>
        <translation>本周期 %1 次（其中 %2 次按请求内容估算了输入）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="155"/>
        <source>none this cycle</source>
        <translation>本周期没有</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="157"/>
        <source>%1 records in the spool (the database cannot take writes yet)</source>
        <translation>暂存文件中有 %1 条记录（数据库暂时无法写入）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/sources.py" line="169"/>
        <source>none</source>
        <translation>无</translation>
    </message>
</context>
<context>
    <name>TokenView</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/token_view.py" line="341"/>
        <source>Text: “{text}”</source>
        <translation>文本：“{text}”</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/token_view.py" line="343"/>
        <source>Text: the last bytes of the character before</source>
        <translation>文本：前一个字符的最后几个字节</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/token_view.py" line="346"/>
        <source>Token {n} of {total}</source>
        <translation>第 {n} 个 token（共 {total} 个）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/token_view.py" line="347"/>
        <source>ID: {id}</source>
        <translation>ID：{id}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/token_view.py" line="349"/>
        <source>{n} bytes</source>
        <translation>{n} 字节</translation>
    </message>
</context>
<context>
    <name>TokenizerPane</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="222"/>
        <source>Reading {name}…</source>
        <translation>正在读取 {name}…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="257"/>
        <source>Prices are unavailable: {problem}</source>
        <translation>价格不可用：{problem}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="334"/>
        <source>Counting…</source>
        <translation>正在计数…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="411"/>
        <source>tiktoken could not tokenize this text ({problem}). Very long runs of whitespace can cause this.</source>
        <translation>tiktoken 无法对这段文本分词（{problem}）。过长的连续空白可能导致此问题。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="418"/>
        <source>Counting failed: {problem}</source>
        <translation>计数失败：{problem}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="431"/>
        <source>Show line {line}, column {column}</source>
        <translation>定位到第 {line} 行第 {column} 列</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="451"/>
        <source>{encoding} · counted in {seconds}</source>
        <translation>{encoding} · 计数用时 {seconds}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="455"/>
        <source>{encoding} · chat prompt · counted in {seconds}</source>
        <translation>{encoding} · 对话提示 · 计数用时 {seconds}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="463"/>
        <source>loaded the encoding first ({seconds})</source>
        <translation>先加载了编码（{seconds}）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="539"/>
        <source>Only the first of {n} files is opened.</source>
        <translation>{n} 个文件中只打开了第一个。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="552"/>
        <source>Line endings were converted to \n.</source>
        <translation>换行符已转换为 \n。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="555"/>
        <source>it has a line of {n} characters, too long to edit smoothly</source>
        <translation>其中有一行长达 {n} 个字符，无法流畅编辑</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="558"/>
        <source>it is too large to edit here ({n} characters)</source>
        <translation>内容太大，无法在此编辑（{n} 个字符）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="561"/>
        <source>{what} is counted but not shown in the editor: {why}.</source>
        <translation>{what}已计数，但未在编辑器中显示：{why}。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="91"/>
        <source>{name} is too big to open here ({mb} MB; the limit is {limit} MB). Count it with `token-monitor count FILE`.</source>
        <translation>{name} 太大，无法在此打开（{mb} MB；上限为 {limit} MB）。请使用 `token-monitor count FILE` 计数。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="97"/>
        <source>{name} is {kind} text. Only UTF-8 text can be counted; save it as UTF-8.</source>
        <translation>{name} 是 {kind} 文本。只能对 UTF-8 文本计数；请另存为 UTF-8。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="101"/>
        <source>{name} is not UTF-8 text (byte 0x{byte} at offset {offset}), so it cannot be counted. Drop a text file instead.</source>
        <translation>{name} 不是 UTF-8 文本（偏移 {offset} 处的字节 0x{byte}），无法计数。请拖入文本文件。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="107"/>
        <source>{name} is a folder, not a file.</source>
        <translation>{name} 是文件夹，不是文件。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="110"/>
        <source>Cannot read {name}: {problem}</source>
        <translation>无法读取 {name}：{problem}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/intake.py" line="114"/>
        <source>Loading failed: {problem}</source>
        <translation>加载失败：{problem}</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="587"/>
        <source>Loading… {pct} %</source>
        <translation>正在加载… {pct} %</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="597"/>
        <source>{what} ({n} characters) is counted but not shown here: {why}. Press Clear to type again.</source>
        <translation>{what}（{n} 个字符）已计数，但未在此显示：{why}。按“清空”可重新输入。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="620"/>
        <source>Open a text file</source>
        <translation>打开文本文件</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="631"/>
        <source>Copied the count ({n}).</source>
        <translation>已复制计数（{n}）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="212"/>
        <source>The text</source>
        <translation>文本</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="227"/>
        <source>“{name}”</source>
        <translation>“{name}”</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="523"/>
        <source>Preparing the text…</source>
        <translation>正在准备文本…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tokenizer/pane.py" line="533"/>
        <source>The pasted text</source>
        <translation>粘贴的文本</translation>
    </message>
</context>
<context>
    <name>TokenizerWindow</name>
    <message>
        <location filename="../../monitor/gui/tokenizer/window.py" line="26"/>
        <source>Tokenizer — Token Monitor</source>
        <translation>分词器 — Token Monitor</translation>
    </message>
</context>
<context>
    <name>TrayIcon</name>
    <message>
        <location filename="../../monitor/gui/tray.py" line="144"/>
        <source>Token Monitor is not set up yet: click to choose what to see (organization usage, your apps through the proxy, or token counts).</source>
        <translation>Token Monitor 尚未设置：点击选择要查看的内容（组织用量、经代理的应用或 token 计数）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="150"/>
        <source>Alerts paused until %1</source>
        <translation>提醒已暂停至 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="193"/>
        <source>Not set up yet — start with:</source>
        <translation>尚未设置 — 从这里开始：</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="194"/>
        <source>Read my organization&apos;s usage…</source>
        <translation>读取我的组织用量…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="195"/>
        <source>Meter my apps on this machine…</source>
        <translation>计量本机上的应用…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="196"/>
        <source>Just count tokens…</source>
        <translation>只计数 token…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="200"/>
        <source>Loading usage…</source>
        <translation>正在加载用量…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="207"/>
        <source>    input %1 · cached %2 · output %3 · reasoning %4</source>
        <translation>    输入 %1 · 缓存 %2 · 输出 %3 · 推理 %4</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="218"/>
        <source>no admin key for the organization sync</source>
        <translation>组织同步没有管理员密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="219"/>
        <source>⚠ Source failing: %1</source>
        <translation>⚠ 数据来源出错：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="221"/>
        <source>No usage data yet</source>
        <translation>暂无用量数据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="225"/>
        <source>Open dashboard</source>
        <translation>打开仪表盘</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="226"/>
        <source>Tokenizer</source>
        <translation>分词器</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="227"/>
        <source>Refresh now</source>
        <translation>立即刷新</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="228"/>
        <source>Pause alerts</source>
        <translation>暂停提醒</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="232"/>
        <source>Pause alerts (paused)</source>
        <translation>暂停提醒（已暂停）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="234"/>
        <source>Paused until %1</source>
        <translation>已暂停至 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="238"/>
        <source>Resume alerts</source>
        <translation>恢复提醒</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="241"/>
        <source>For 1 hour</source>
        <translation>1 小时</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="244"/>
        <source>Until tomorrow</source>
        <translation>直到明天</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="248"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="249"/>
        <source>API keys…</source>
        <translation>API 密钥…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="251"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="257"/>
        <source>Proxy: not running (%1)</source>
        <translation>代理：未运行（%1）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="259"/>
        <source>Proxy: on at %1</source>
        <translation>代理：已开启，地址 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="261"/>
        <source>Proxy: starting…</source>
        <translation>代理：正在启动…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/tray.py" line="262"/>
        <source>Proxy: off</source>
        <translation>代理：已关闭</translation>
    </message>
</context>
<context>
    <name>VirtualKeysPanel</name>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="94"/>
        <source>Unexpected error: %1</source>
        <translation>意外错误：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="113"/>
        <source>Virtual keys (one per app, through the proxy)</source>
        <translation>虚拟密钥（每个应用一个，经由代理使用）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="128"/>
        <source>App (label)</source>
        <translation>应用（标签）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="128"/>
        <source>Stands for</source>
        <translation>对应密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="128"/>
        <source>Spent of cap</source>
        <translation>已用 / 上限</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="129"/>
        <source>Period</source>
        <translation>周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="129"/>
        <source>Cap</source>
        <translation>上限</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="141"/>
        <source>New virtual key…</source>
        <translation>新建虚拟密钥…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="144"/>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="205"/>
        <source>today</source>
        <translation>今天</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="205"/>
        <source>billing cycle</source>
        <translation>计费周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="206"/>
        <source>hard: refuses past it</source>
        <translation>硬上限：超出即拒绝</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="206"/>
        <source>soft: alerts</source>
        <translation>软上限：仅提醒</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="207"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="221"/>
        <source>%1 spent · no cap</source>
        <translation>已花费 %1 · 无上限</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="225"/>
        <source>%1 of %2 (%3)</source>
        <translation>%1 / %2（%3）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="264"/>
        <source>Created %1.</source>
        <translation>已创建 %1。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="270"/>
        <source>Remove virtual key</source>
        <translation>删除虚拟密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="271"/>
        <source>Remove the virtual key %1? Apps using it get &quot;401 Incorrect API key&quot; from the proxy from then on.</source>
        <translation>删除虚拟密钥 %1？此后使用它的应用会从代理收到“401 Incorrect API key”。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/virtual_keys_panel.py" line="283"/>
        <source>Removed %1.</source>
        <translation>已删除 %1。</translation>
    </message>
</context>
<context>
    <name>WelcomeFlow</name>
    <message>
        <location filename="../../monitor/gui/welcome_flow.py" line="115"/>
        <source>To read your organization&apos;s usage, add an Admin key. Create one on the OpenAI platform under %1, paste it below and press Add: it is tested first, then the first sync starts.</source>
        <translation>要读取组织的用量，请添加一个管理员密钥。在 OpenAI 平台的 %1 中创建，粘贴到下方并点击“添加”：先测试密钥，然后开始首次同步。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome_flow.py" line="143"/>
        <location filename="../../monitor/gui/welcome_flow.py" line="147"/>
        <source>Application menu</source>
        <translation>应用程序菜单</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome_flow.py" line="148"/>
        <source>Token Monitor was added to the application menu (%1).</source>
        <translation>Token Monitor 已添加到应用程序菜单（%1）。</translation>
    </message>
</context>
<context>
    <name>WelcomePanel</name>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="77"/>
        <source>Welcome to Token Monitor</source>
        <translation>欢迎使用 Token Monitor</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="80"/>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="82"/>
        <source>Hide this panel; the dashboard shows zeros until data comes</source>
        <translation>隐藏此面板；在有数据之前仪表板显示为零</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="95"/>
        <source>Needs an &lt;b&gt;Admin key&lt;/b&gt;: create one on the OpenAI platform under %1. Token Monitor tests it, keeps it in the system keyring and fetches this and last billing cycle.</source>
        <translation>需要一个&lt;b&gt;管理员密钥&lt;/b&gt;：在 OpenAI 平台的 %1 中创建。Token Monitor 会先测试它，保存在系统密钥环中，并获取本计费周期和上一个计费周期的数据。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="52"/>
        <source>Organization settings → Admin keys</source>
        <translation>组织设置 → 管理员密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="186"/>
        <source>Nothing is set up yet. Pick what you want to see first; each path takes one click and you can add the others later.</source>
        <translation>还没有任何设置。先选择想看的内容；每条路径只需一次点击，其他的可以稍后再加。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="94"/>
        <source>Read my organization&apos;s usage</source>
        <translation>读取我的组织用量</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="98"/>
        <source>Add an admin key…</source>
        <translation>添加管理员密钥…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="100"/>
        <source>Meter my apps on this machine</source>
        <translation>计量本机上的应用</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="101"/>
        <source>Turns on the local metering proxy. Apps that send their requests through it are counted request by request, with no admin key.</source>
        <translation>开启本地计量代理。经由它发送请求的应用会被逐个请求计量，无需管理员密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="103"/>
        <source>Turn on the proxy</source>
        <translation>开启代理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="109"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="113"/>
        <source>Paste these lines into the shell (or the app&apos;s environment) before starting your app:</source>
        <translation>启动应用前，把这几行粘贴到终端（或应用的环境变量）中：</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="126"/>
        <source>Just count tokens</source>
        <translation>只计数 token</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="127"/>
        <source>Opens the tokenizer: paste text, see tokens and cost for any model. Works offline, no account needed.</source>
        <translation>打开分词器：粘贴文本，查看任意模型的 token 数和费用。离线可用，无需账户。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="129"/>
        <source>Open the tokenizer</source>
        <translation>打开分词器</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="133"/>
        <source>Find Token Monitor again after a restart: add it to the application menu.</source>
        <translation>重启后也能找到 Token Monitor：把它添加到应用程序菜单。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="136"/>
        <source>Add to application menu</source>
        <translation>添加到应用程序菜单</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="172"/>
        <source>The proxy is on</source>
        <translation>代理已开启</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="177"/>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="193"/>
        <source>Proxy on at %1</source>
        <translation>代理已开启，地址 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="195"/>
        <source>Proxy starting</source>
        <translation>代理正在启动</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="197"/>
        <source>admin key stored</source>
        <translation>已保存管理员密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="199"/>
        <source>first figures in</source>
        <translation>已有首批数据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="203"/>
        <source>Set up so far: %1. Pick what else you want to see, or press Dismiss to go to the dashboard.</source>
        <translation>目前已设置：%1。选择还想查看的内容，或点击“关闭”进入仪表板。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/welcome.py" line="211"/>
        <source>Token Monitor is in the application menu.</source>
        <translation>Token Monitor 已在应用程序菜单中。</translation>
    </message>
</context>
<context>
    <name>WhatIfPanel</name>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="61"/>
        <source>What if everything ran on</source>
        <translation>如果全部改用</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="64"/>
        <source>Filter models…</source>
        <translation>筛选模型…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="71"/>
        <source>(choose a model)</source>
        <translation>（选择模型）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="114"/>
        <source>%1 instead of %2: %3</source>
        <translation>%1，而不是 %2：%3</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="118"/>
        <source>long context estimated</source>
        <translation>长上下文部分为估算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="137"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="137"/>
        <source>Actual</source>
        <translation>实际</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="137"/>
        <source>On %1</source>
        <translation>改用 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/what_if.py" line="138"/>
        <source>Difference</source>
        <translation>差额</translation>
    </message>
</context>
<context>
    <name>alerts</name>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="52"/>
        <source>%1 % of your monthly limit used</source>
        <translation>已用掉每月限额的 %1 %</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="53"/>
        <source>Spent %1 of %2 this cycle.</source>
        <translation>本周期已花费 %1（限额 %2）。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="56"/>
        <source>On pace to exceed your monthly limit</source>
        <translation>按当前速度将超出每月限额</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="57"/>
        <source>At this pace the cycle ends at %1, over the %2 limit.</source>
        <translation>按当前速度，本周期结束时将达到 %1，超出 %2 的限额。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="59"/>
        <source>Crossing around %1.</source>
        <translation>预计在 %1 前后超出。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="61"/>
        <source>Spending spike today</source>
        <translation>今日花费激增</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="62"/>
        <source>Today&apos;s spend %1 is %2× your usual day (%3).</source>
        <translation>今日花费 %1，是平常一天（%3）的 %2 倍。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="46"/>
        <source>Spending spike this hour</source>
        <translation>本小时花费激增</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="75"/>
        <source>OpenAI rejected the key %1 (401) on %2 request(s) through the proxy; requests with it fail. Replace the key in API keys.</source>
        <translation>OpenAI 通过代理拒绝了密钥 %1（401），共 %2 次请求；使用该密钥的请求会失败。请在“API 密钥”中更换该密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="45"/>
        <source>A new API key started spending</source>
        <translation>新的 API 密钥开始产生费用</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="81"/>
        <source>%1 made 1 request this cycle and had not been seen before.</source>
        <translation>%1 本周期发出了 1 次请求，此前从未出现过。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="85"/>
        <source>%1 made %2 requests this cycle and had not been seen before.</source>
        <translation>%1 本周期发出了 %2 次请求，此前从未出现过。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="89"/>
        <source>API key expiring</source>
        <translation>API 密钥即将过期</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="90"/>
        <source>The key %1 expires on %2.</source>
        <translation>密钥 %1 将于 %2 过期。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="74"/>
        <location filename="../../monitor/core/alert_texts.py" line="111"/>
        <source>API key rejected</source>
        <translation>API 密钥被拒绝</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="47"/>
        <source>API key expired</source>
        <translation>API 密钥已过期</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="66"/>
        <source>Spend in the %1 UTC hour is %2, %3× your usual hour (%4).</source>
        <translation>UTC %1 这一小时花费 %2，是您平常每小时（%4）的 %3 倍。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="70"/>
        <source>Spend in the %1 UTC hour so far is %2, %3× your usual hour (%4).</source>
        <translation>UTC %1 这一小时到目前为止花费 %2，是您平常每小时（%4）的 %3 倍。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="94"/>
        <source>The key %1 expired on %2; sync no longer uses it. Add a new key in API keys.</source>
        <translation>密钥 %1 已于 %2 过期；同步不再使用它。请在 API 密钥中添加新密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="100"/>
        <source>The key %1 expired on %2; requests with it fail. Add a new key in API keys.</source>
        <translation>密钥 %1 已于 %2 过期；使用该密钥的请求会失败。请在 API 密钥中添加新密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="105"/>
        <source>Time to renew an API key</source>
        <translation>该更换 API 密钥了</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="106"/>
        <source>The key %1 was added on %2 and is due for renewal. Create a new key, add it in API keys and keep the old one as a backup until the new one works.</source>
        <translation>密钥 %1 添加于 %2，已到更换时间。请创建新密钥并在 API 密钥中添加，在新密钥可用之前保留旧密钥作为备用。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="112"/>
        <source>OpenAI rejected the admin key %1 (401). Organization usage is not syncing; replace the key in API keys.</source>
        <translation>OpenAI 拒绝了管理员密钥 %1（401）。组织用量已停止同步；请在“API 密钥”中更换密钥。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="117"/>
        <source>Prepaid credit used up</source>
        <translation>预付额度已用完</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="118"/>
        <source>The %1 prepaid credit is used up, %2 over.</source>
        <translation>%1 的预付额度已用完，超出 %2。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="121"/>
        <source>Prepaid credit running low</source>
        <translation>预付额度即将用完</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="122"/>
        <source>%1 of %2 prepaid credit left.</source>
        <translation>预付额度剩余 %1（共 %2）。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="125"/>
        <source>Prepaid credit about to expire</source>
        <translation>预付额度即将过期</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="126"/>
        <source>%1 of prepaid credit expires on %2.</source>
        <translation>%1 的预付额度将于 %2 过期。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="48"/>
        <source>Virtual key %1 reached its cap</source>
        <translation>虚拟密钥 %1 已达到上限</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="130"/>
        <source>%1 spent %2 of its %3 daily cap (a soft cap: requests still go through).</source>
        <translation>%1 已花费 %2，达到其每日上限 %3（软上限：请求仍会放行）。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="136"/>
        <source>%1 spent %2 of its %3 monthly cap (a soft cap: requests still go through).</source>
        <translation>%1 已花费 %2，达到其每月上限 %3（软上限：请求仍会放行）。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="141"/>
        <source>Hard cap reached: the proxy refuses requests past the monthly limit</source>
        <translation>已达硬上限：代理将拒绝超出每月限额的请求</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="145"/>
        <source>Hard cap reached: the proxy refuses requests for virtual key %1</source>
        <translation>已达硬上限：代理将拒绝虚拟密钥 %1 的请求</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="43"/>
        <source>Requests get HTTP 429 until the cap resets at %1. Refused so far: %2.</source>
        <translation>在上限于 %1 重置之前，请求都会收到 HTTP 429。目前已拒绝 %2 次。</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="149"/>
        <source>Token Monitor test notification</source>
        <translation>Token Monitor 测试通知</translation>
    </message>
    <message>
        <location filename="../../monitor/core/alert_texts.py" line="150"/>
        <source>Notifications work. Budget alerts will look like this.</source>
        <translation>通知功能正常。预算提醒将以这种形式显示。</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <location filename="../../monitor/gui/app_signals.py" line="122"/>
        <source>Something went wrong inside Token Monitor. The details are in the log file; please report this.</source>
        <translation>Token Monitor 内部出错。详细信息已写入日志文件；请报告此问题。</translation>
    </message>
</context>
<context>
    <name>fmt</name>
    <message>
        <location filename="../../monitor/gui/fmt.py" line="70"/>
        <source>never</source>
        <translation>从未</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/fmt.py" line="76"/>
        <source>yesterday %1</source>
        <translation>昨天 %1</translation>
    </message>
</context>
<context>
    <name>settings</name>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="60"/>
        <source>Prices as of %1 (%2 days old).</source>
        <translation>价格日期：%1（%2 天前）。</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/settings_dialog.py" line="63"/>
        <source>The price table is over %1 days old and prices may have changed: update it with `token-monitor price import FILE` (LiteLLM&apos;s model_prices_and_context_window.json).</source>
        <translation>价格表已超过 %1 天，价格可能已有变动：请用 `token-monitor price import FILE` 更新（使用 LiteLLM 的 model_prices_and_context_window.json）。</translation>
    </message>
</context>
<context>
    <name>tables</name>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="132"/>
        <source>Requests</source>
        <translation>请求数</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="133"/>
        <source>Input</source>
        <translation>输入</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="135"/>
        <source>Cached</source>
        <translation>缓存</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="137"/>
        <source>Output</source>
        <translation>输出</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="139"/>
        <source>Reasoning</source>
        <translation>推理</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="142"/>
        <source>Cost</source>
        <translation>费用</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="146"/>
        <location filename="../../monitor/gui/dashboard/tables.py" line="172"/>
        <source>price unknown</source>
        <translation>价格未知</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="151"/>
        <source>Basis</source>
        <translation>依据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="154"/>
        <source>unpriced</source>
        <translation>未定价</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="162"/>
        <source>(all models)</source>
        <translation>（全部模型）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="171"/>
        <source>matches</source>
        <translation>一致</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="173"/>
        <source>billed by line item</source>
        <translation>按计费项计费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="174"/>
        <source>billed by line item; price unknown</source>
        <translation>按计费项计费；价格未知</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="177"/>
        <source>per-model dollars are estimated: no line item names this model</source>
        <translation>按模型的金额为估算：没有计费项写明此模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="179"/>
        <source>billed so far: the day is still open</source>
        <translation>截至目前的计费：当日尚未结束</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="182"/>
        <source>billed and tokens x price differ by more than 1 %: a price in the table may be wrong</source>
        <translation>已计费金额与 token × 价格相差超过 1 %：价格表中可能有价格不对</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="186"/>
        <source>billed line item that names no model: its own row, not spread over models</source>
        <translation>未写明模型的计费项：单独成行，不分摊到各模型</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="189"/>
        <source>not billed yet: today&apos;s costs are still open</source>
        <translation>尚未计费：今日费用仍在累计</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="191"/>
        <source>not billed yet: the Costs API reports days late</source>
        <translation>尚未计费：Costs API 延迟数日报告</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="193"/>
        <source>per-model dollars are estimated: the Costs API has no model breakdown</source>
        <translation>按模型的金额为估算：Costs API 不提供模型明细</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="195"/>
        <source>billed includes items without token usage (tools, storage, images) or usage not yet synced</source>
        <translation>已计费金额包含无 token 用量的项目（工具、存储、图像）或尚未同步的用量</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="198"/>
        <source>usage revised or billed at lower rates than the price table</source>
        <translation>用量已修订，或按低于价格表的费率计费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="204"/>
        <source>unpriced models not in the estimate: %1</source>
        <translation>估算未包含未定价模型：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="208"/>
        <source>service tiers used: %1</source>
        <translation>使用的服务层级：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="212"/>
        <source>cached input %1 % of input</source>
        <translation>缓存输入占输入的 %1 %</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="232"/>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="242"/>
        <source>Day</source>
        <translation>日期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="248"/>
        <source>Model / line item</source>
        <translation>模型 / 计费项</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="254"/>
        <source>Billed</source>
        <translation>已计费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="259"/>
        <source>Estimated</source>
        <translation>估算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="264"/>
        <source>Difference</source>
        <translation>差额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/dashboard/tables.py" line="269"/>
        <source>Why</source>
        <translation>原因</translation>
    </message>
</context>
<context>
    <name>texts</name>
    <message>
        <location filename="../../monitor/gui/texts.py" line="27"/>
        <source>Token Monitor — loading…</source>
        <translation>Token Monitor — 正在加载…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="30"/>
        <source>Today %1 · %2 %3 of %4 (%5)</source>
        <translation>今日 %1 · %2 %3 / %4（%5）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="42"/>
        <source>No usage data yet</source>
        <translation>暂无用量数据</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="45"/>
        <source>Sync failing: %1</source>
        <translation>同步失败：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="50"/>
        <source>Sync stopped: no admin key</source>
        <translation>同步已停止：没有管理员密钥</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="53"/>
        <source>Proxy failing: %1</source>
        <translation>代理出错：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="61"/>
        <source>Too little data to project this cycle yet</source>
        <translation>数据太少，暂时无法预测本周期</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="63"/>
        <source>At this pace: %1 by %2</source>
        <translation>按当前速度：到 %2 约 %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="69"/>
        <source>already over the limit</source>
        <translation>已超出限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="73"/>
        <source>over the limit around %1</source>
        <translation>约在 %1 超出限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="78"/>
        <source>over the limit</source>
        <translation>将超出限额</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="79"/>
        <source>within the limit</source>
        <translation>在限额之内</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="85"/>
        <source>Today: %1 · %2 tokens</source>
        <translation>今日：%1 · %2 个 token</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="99"/>
        <source>1 request not priced today</source>
        <translation>今日有 1 次请求未定价</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="100"/>
        <source>%1 requests not priced today</source>
        <translation>今日有 %1 次请求未定价</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="103"/>
        <source>%1 this cycle</source>
        <translation>本周期共 %1 次</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="107"/>
        <source>1 request not priced this cycle</source>
        <translation>本周期有 1 次请求未定价</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="108"/>
        <source>%1 requests not priced this cycle</source>
        <translation>本周期有 %1 次请求未定价</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="115"/>
        <source>%1: %2 of %3 (%4)</source>
        <translation>%1：%2 / %3（%4）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="125"/>
        <source>billed</source>
        <translation>已计费</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="126"/>
        <source>estimated</source>
        <translation>估算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="127"/>
        <source>apportioned</source>
        <translation>已分摊</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="128"/>
        <source>mixed: billed, apportioned, estimated</source>
        <translation>混合：已计费、已分摊、估算</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="134"/>
        <source>No admin key: add one in API keys to sync organization usage</source>
        <translation>没有管理员密钥：请在“API 密钥”中添加一个以同步组织用量</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="138"/>
        <source>Last sync: %1</source>
        <translation>上次同步：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="143"/>
        <source>syncing now…</source>
        <translation>正在同步…</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="146"/>
        <source>next: %1</source>
        <translation>下次：%1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="152"/>
        <source>failing since %1: %2</source>
        <translation>自 %1 起失败：%2</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="161"/>
        <source>Organization data: none synced yet</source>
        <translation>组织数据：尚未同步</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="163"/>
        <source>Complete through %1 UTC</source>
        <translation>数据完整至 UTC %1</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="170"/>
        <source>the current hour is provisional</source>
        <translation>当前小时的数据为暂定值</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="176"/>
        <source>First sync (two billing cycles)</source>
        <translation>首次同步（两个计费周期）</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="177"/>
        <source>Syncing</source>
        <translation>同步中</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="178"/>
        <source>%1: %2 of %3 windows · %4 requests · %5</source>
        <translation>%1：%2 / %3 个窗口 · %4 次请求 · %5</translation>
    </message>
    <message>
        <location filename="../../monitor/gui/texts.py" line="183"/>
        <source>(resumed: %1 already fetched)</source>
        <translation>（已续传：%1 个已获取）</translation>
    </message>
</context>
</TS>
