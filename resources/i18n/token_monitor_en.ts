<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>HeaderPanel</name>
    <message numerus="yes">
        <location filename="../../monitor/gui/dashboard/header.py" line="137"/>
        <source>%n request(s) · %1 tokens</source>
        <translation>
            <numerusform>%n request · %1 tokens</numerusform>
            <numerusform>%n requests · %1 tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/dashboard/header.py" line="200"/>
        <source>expires in %n day(s)</source>
        <translation>
            <numerusform>expires in %n day</numerusform>
            <numerusform>expires in %n days</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>KeysDialog</name>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="340"/>
        <source>%1 is %n day(s) old: time to renew it. Create a new key on the OpenAI platform, add it here and keep %1 as a backup until the new one works.</source>
        <translation>
            <numerusform>%1 is %n day old: time to renew it. Create a new key on the OpenAI platform, add it here and keep %1 as a backup until the new one works.</numerusform>
            <numerusform>%1 is %n days old: time to renew it. Create a new key on the OpenAI platform, add it here and keep %1 as a backup until the new one works.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="346"/>
        <source>%n day(s)</source>
        <translation>
            <numerusform>%n day</numerusform>
            <numerusform>%n days</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../monitor/gui/keys_dialog.py" line="387"/>
        <source>expires in %n day(s)</source>
        <translation>
            <numerusform>expires in %n day</numerusform>
            <numerusform>expires in %n days</numerusform>
        </translation>
    </message>
</context>
</TS>
